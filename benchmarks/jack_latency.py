"""End-to-end latency through the real capture path, deadline misses and memory over a run.

A dummy JACK server plays multichannel audio (the demo song's channels, tiled to N channels)
into PortAudio; the engine captures it through sounddevice, predicts, and calls its sinks. Latency
is from the capture callback that completed a hop to the sinks being called with its gains.
Every gain source runs in the same process, one after another, one torch thread.

    .venv/bin/python benchmarks/jack_latency.py [--channels 32] [--seconds 20] [--sources ...]

Results go to benchmarks/results/jack_latency.md (the README quotes them). The 10-minute
deadline-miss run of the real-time engine issue is `--seconds 600 --sources alm-mr`.
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from pathlib import Path

import numpy as np
import torch

from bridge.capture import CaptureSource
from bridge.config import DEMO_SONG_DIR
from bridge.engine import Engine
from bridge.jackserver import JackPlayer, dummy_jack
from bridge.outputs.automation import AutomationRecorder
from models.gainsource import GAIN_SOURCES, make_gain_source
from models.song import load_song

RESULTS = Path(__file__).parent / "results" / "jack_latency.md"
RESULTS_LONG = Path(__file__).parent / "results" / "jack_latency_10min.md"


def rss_mb() -> float:
    """Current resident memory (Linux /proc), MB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_one(name: str, channels: int, seconds: float, audio: np.ndarray) -> dict[str, float]:
    player = JackPlayer(audio, loop=True)
    try:
        source = CaptureSource("JACK", list(range(channels)), blocksize=256)
        engine = Engine(source, make_gain_source(name), [AutomationRecorder(source.names)])
        hops = int(seconds / engine.hop_s)
        engine.on_hop = lambda snap: engine.stop() if snap.index + 1 >= hops else None
        mem0 = rss_mb()
        runner = threading.Thread(target=engine.run)
        runner.start()
        player.wire_to_portaudio()
        player.playing = True
        runner.join()
        mem1 = rss_mb()
        source.close()
    finally:
        player.close()
    stats = engine.stats
    counts = source.stats()
    return {
        "lat50": stats.latency_percentile_ms(50),
        "lat99": stats.latency_percentile_ms(99),
        "cpu50": stats.percentile_ms(50),
        "cpu99": stats.percentile_ms(99),
        "hops": stats.hops,
        "misses": stats.misses,
        "overflows": counts["overflows"],
        "dropped": counts["dropped_blocks"],
        "mem0": mem0,
        "mem1": mem1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sources", nargs="+", default=None, help="gain sources (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    song = load_song(DEMO_SONG_DIR, with_target=False)
    reps = -(-args.channels // song.audio.shape[0])
    audio = np.tile(song.audio, (reps, 1))[: args.channels]
    names = args.sources or sorted(GAIN_SOURCES)
    rows = []
    with dummy_jack(ports=max(args.channels, 2)):
        for name in names:
            r = run_one(name, args.channels, args.seconds, audio)
            rows.append((name, r))
            print(
                f"{name:<18} latency p50 {r['lat50']:.2f} ms p99 {r['lat99']:.2f} ms | compute "
                f"p50 {r['cpu50']:.2f} p99 {r['cpu99']:.2f} ms | {r['hops']:.0f} hops, "
                f"{r['misses']:.0f} misses, {r['overflows']:.0f} overflows | "
                f"RSS {r['mem0']:.0f} -> {r['mem1']:.0f} MB"
            )
    lines = [
        "# End-to-end latency through JACK (dummy driver)",
        "",
        f"`benchmarks/jack_latency.py --channels {args.channels} --seconds {args.seconds:g}`, "
        f"{time.strftime('%Y-%m-%d')}, JACK period 256 frames at 48 kHz, capture block 256, "
        "one torch thread. Latency: capture callback that completed a hop -> sinks called. "
        f"1-minute load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
        "",
        "| gain source | latency p50 ms | latency p99 ms | compute p50 ms | compute p99 ms | "
        "hops | deadline misses | overflows | RSS start -> end MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['lat50']:.2f} | {r['lat99']:.2f} | {r['cpu50']:.2f} | "
            f"{r['cpu99']:.2f} | {r['hops']:.0f} | {r['misses']:.0f} | {r['overflows']:.0f} | "
            f"{r['mem0']:.0f} -> {r['mem1']:.0f} |"
        )
    # A run of 10 minutes or more is the deadline-miss soak: kept in its own file.
    out = RESULTS_LONG if args.seconds >= 600 else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
