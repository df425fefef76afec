"""Per-hop compute of each gain source in the engine by channel count; the engine's speed.

Runs every gain source on the same noise in the same process, one CPU thread, and prints p50/p99
per 50 ms hop, as a share of the hop and as a ratio to the RAW (unity) baseline. Results go to
benchmarks/results/engine_hop.md, which the README quotes.

    .venv/bin/python benchmarks/engine_hop.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch

from bridge.engine import Engine
from bridge.mixdown import MixRecorder
from bridge.sources import FileSource
from models.gainsource import GAIN_SOURCES, make_gain_source
from models.song import ChannelInfo, Song, SongMeta

RESULTS = Path(__file__).parent / "results" / "engine_hop.md"


def noise_song(channels: int, seconds: float) -> Song:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((channels, int(48_000 * seconds)))).astype(np.float32)
    return Song(SongMeta(48_000, [ChannelInfo(f"c{i}") for i in range(channels)]), audio)


def measure(name: str, channels: int, seconds: float) -> tuple[float, float, float]:
    song = noise_song(channels, seconds)
    engine = Engine(
        FileSource(song, realtime=False),
        make_gain_source(name),
        recorder=MixRecorder(48_000),
        deadline_s=1.0,
    )
    t0 = time.perf_counter()
    stats = engine.run()
    wall = time.perf_counter() - t0
    return stats.percentile_ms(50), stats.percentile_ms(99), seconds / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per measurement")
    parser.add_argument("--sources", nargs="+", default=None, help="gain sources (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # The "-untrained" entries cost the same as their trained twins: left out unless asked for.
    names = args.sources or sorted(n for n in GAIN_SOURCES if not n.endswith("-untrained"))
    rows = []
    for channels in (8, 16, 32, 64):
        base = None
        for name in ["raw", *[n for n in names if n != "raw"]]:
            p50, p99, rtf = measure(name, channels, args.seconds)
            base = p99 if name == "raw" else base
            ratio = p99 / base if base else 1.0
            rows.append((channels, name, p50, p99, 100 * p99 / 50.0, ratio, rtf))
            print(
                f"{channels:>3} ch  {name:<10} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  "
                f"({100 * p99 / 50:5.2f} % of hop, x{ratio:4.1f} raw)  {rtf:6.0f}x real time"
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = platform.processor() or platform.machine()
    header = "| channels | gain source | p50 ms | p99 ms | p99 % of hop | p99 vs raw | real time |"
    lines = [
        "# Engine per-hop compute",
        "",
        f"`benchmarks/engine_hop.py --seconds {args.seconds:g}` on {cpu},"
        f" Python {platform.python_version()}, torch threads 1, {time.strftime('%Y-%m-%d')}.",
        "p50/p99: the gain source's prediction per 50 ms hop (what the engine's deadline applies",
        "to). Real-time factor: the whole engine (prediction, safety stage, direct mix, automation",
        "sink) over the whole run, audio seconds per wall-clock second. 1-minute load average at "
        f"the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
        "",
        header,
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for ch, name, p50, p99, pct, ratio, rtf in rows:
        lines.append(
            f"| {ch} | {name} | {p50:.3f} | {p99:.3f} | {pct:.2f} | x{ratio:.1f} | {rtf:.0f}x |"
        )
    lines += ["", f"Peak resident memory of the benchmark process: {rss_mb:.0f} MB."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
