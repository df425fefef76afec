"""How long `ailive run` takes to exit after Ctrl-C (SIGINT), SIGTERM or SIGHUP.

A real `ailive run --seconds 600` captures 8 channels from a dummy JACK server (the 600 s timer
used to hold the exit for its whole length); once its journal has rows, a signal is sent and the
time to the process's exit, with every end-of-show file written, is measured.

    .venv/bin/python benchmarks/stop_time.py [--repeats 3]

Results go to benchmarks/results/stop_time.md (the README quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bridge.jackserver import dummy_jack

RESULTS = Path(__file__).parent / "results" / "stop_time.md"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def one(sig: signal.Signals, server: str, out: Path) -> tuple[float, int, str]:
    env = {**os.environ, "JACK_DEFAULT_SERVER": server, "JACK_NO_START_SERVER": "1"}
    cmd = [sys.executable, "-m", "bridge", "run", "--device", "JACK", "--channels", "1-8",
           "--no-console", "--headless", "--gain-source", "alm-mr", "--seconds", "600",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        folders = list(out.iterdir()) if out.is_dir() else []
        gains = folders[0] / "gains.csv" if folders else None
        if gains is not None and gains.is_file() and len(gains.read_text().splitlines()) > 20:
            break
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(sig)
    rc = proc.wait(120)
    took = time.monotonic() - t0
    summary = json.loads((folders[0] / "summary.json").read_text())
    return took, rc, str(summary["stopped_by"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with dummy_jack(ports=8) as server, tempfile.TemporaryDirectory() as tmp:
        for sig in SIGNALS:
            runs = [one(sig, server, Path(tmp) / f"{sig.name}{k}") for k in range(args.repeats)]
            took = [r[0] for r in runs]
            rows.append(
                f"| {sig.name} | {args.repeats} | {np.median(took):.2f} | {max(took):.2f} | "
                f"{', '.join(sorted({str(r[1]) for r in runs}))} | "
                f"{', '.join(sorted({r[2] for r in runs}))} |"
            )
            print(rows[-1], flush=True)
    lines = [
        "# Stop time",
        "",
        f"`benchmarks/stop_time.py --repeats {args.repeats}`, {time.strftime('%Y-%m-%d')}: "
        "`ailive run --seconds 600` (8 channels from a dummy JACK server, alm-mr, headless), "
        "signal sent once its journal has rows; time from the signal to the process's exit with "
        f"every end-of-show file written. 1-minute load average at the end: "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
        "",
        "| signal | runs | exit after, median s | max s | exit status | stopped_by |",
        "|---|---:|---:|---:|---|---|",
        *rows,
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
