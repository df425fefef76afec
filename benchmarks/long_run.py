"""A long show streamed faster than real time: gains stay finite and bounded, no drift, memory
flat. The demo song loops for `--minutes` (default 60) through the engine with each gain source.

Drift: the song repeats, so once the state has settled, the gains over one pass of the song
should match the gains over the next: we report the largest difference between the second pass
and the last one.

    .venv/bin/python benchmarks/long_run.py [--minutes 60] [--sources autofader ...]

Results go to benchmarks/results/long_run.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.jack_latency import rss_mb
from bridge.config import DEMO_SONG_DIR
from bridge.engine import Engine, HopSnapshot
from bridge.sources import FileSource
from models.gainsource import GAIN_SOURCES, make_gain_source
from models.song import load_song

RESULTS = Path(__file__).parent / "results" / "long_run.md"


def run_one(name: str, minutes: float) -> dict[str, float]:
    song = load_song(DEMO_SONG_DIR, with_target=False)
    source = FileSource(song, realtime=False, seconds=minutes * 60, loop=True)
    engine = Engine(source, make_gain_source(name))
    hops_per_pass = song.audio.shape[1] // engine.hop_samples
    # Keep only what is needed: the sent gains of the 2nd and of the last full pass.
    second: list[np.ndarray] = []
    ring: list[np.ndarray] = []
    extremes = [np.inf, -np.inf]
    finite = [True]
    mem: list[float] = []

    def on_hop(snap: HopSnapshot) -> None:
        g = snap.sent_db
        finite[0] &= bool(np.isfinite(g).all())
        extremes[0] = min(extremes[0], float(g.min()))
        extremes[1] = max(extremes[1], float(g.max()))
        k = snap.index
        # The looped source restarts at sample 0 each pass; hops line up only when the song
        # length is a whole number of hops, which the demo song is.
        if hops_per_pass <= k < 2 * hops_per_pass:
            second.append(g.copy())
        ring.append(g.copy())
        if len(ring) > hops_per_pass:
            ring.pop(0)
        if k % 12_000 == 0:
            mem.append(rss_mb())

    engine.on_hop = on_hop
    t0 = time.perf_counter()
    stats = engine.run()
    wall = time.perf_counter() - t0
    mem.append(rss_mb())
    phase = stats.hops % hops_per_pass
    last = np.roll(np.array(ring), phase, axis=0)  # align the last pass with the second
    drift = float(np.max(np.abs(last - np.array(second)))) if len(ring) == len(second) else np.nan
    return {
        "hours": stats.hops * engine.hop_s / 3600,
        "speed": stats.hops * engine.hop_s / wall,
        "finite": float(finite[0]),
        "min": extremes[0],
        "max": extremes[1],
        "drift": drift,
        "mem0": mem[0],
        "mem1": mem[-1],
        "faults": stats.faults,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sources", nargs="+", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.sources or sorted(GAIN_SOURCES):
        r = run_one(name, args.minutes)
        rows.append((name, r))
        print(
            f"{name:<18} {r['hours']:.2f} h at {r['speed']:.0f}x real time | finite "
            f"{bool(r['finite'])} | gains {r['min']:+.1f}..{r['max']:+.1f} dB | drift "
            f"{r['drift']:.3f} dB | RSS {r['mem0']:.0f} -> {r['mem1']:.0f} MB"
        )
    lines = [
        "# Long run: the demo song looped, streamed faster than real time",
        "",
        f"`benchmarks/long_run.py --minutes {args.minutes:g}`, {time.strftime('%Y-%m-%d')}, one "
        "torch thread. Drift: largest |gain difference| between the 2nd pass of the song and "
        "the last one.",
        "",
        "| gain source | audio hours | speed | all finite | sent gains min..max dB | drift dB | "
        "faults | RSS start -> end MB |",
        "|---|---:|---:|---|---|---:|---:|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['hours']:.2f} | {r['speed']:.0f}x | {bool(r['finite'])} | "
            f"{r['min']:+.1f}..{r['max']:+.1f} | {r['drift']:.3f} | {r['faults']:.0f} | "
            f"{r['mem0']:.0f} -> {r['mem1']:.0f} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
