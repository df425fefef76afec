"""Per-hop compute of each gain source in the engine by channel count; the engine's speed.

Runs every gain source on the same noise in the same process, one CPU thread, and prints p50/p99
per 50 ms hop, as a share of the hop and as a ratio to the RAW (unity) baseline. The networks
run on each inference runtime asked for (models.runtime: ONNX Runtime and torch.jit by default),
in the same run, so their ratio holds on a busy machine. Results go to
benchmarks/results/engine_hop.md, which the README quotes.

    .venv/bin/python benchmarks/engine_hop.py [--seconds 30] [--runtimes onnx jit]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bridge.engine import Engine
from bridge.mixdown import MixRecorder
from bridge.sources import FileSource
from models.gainsource import GAIN_SOURCES, GainSource, make_gain_source
from models.inference import StreamingMixer
from models.song import ChannelInfo, Song, SongMeta

RESULTS = Path(__file__).parent / "results" / "engine_hop.md"


def noise_song(channels: int, seconds: float) -> Song:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((channels, int(48_000 * seconds)))).astype(np.float32)
    return Song(SongMeta(48_000, [ChannelInfo(f"c{i}") for i in range(channels)]), audio)


def is_network(name: str) -> bool:
    return isinstance(make_gain_source(name), StreamingMixer)


def gain_source(name: str, runtime: str) -> GainSource:
    source = make_gain_source(name)
    if isinstance(source, StreamingMixer):
        source.runtime = runtime
    return source


def measure(
    name: str, runtime: str, channels: int, seconds: float
) -> tuple[float, float, float, float, int]:
    """(p50 ms, p99 ms, real-time factor, max ms, hops over the 50 ms hop) of one gain source."""
    song = noise_song(channels, seconds)
    source = gain_source(name, runtime)
    engine = Engine(
        FileSource(song, realtime=False),
        source,
        recorder=MixRecorder(48_000),
        deadline_s=1.0,
    )
    t0 = time.perf_counter()
    stats = engine.run()
    wall = time.perf_counter() - t0
    if isinstance(source, StreamingMixer) and source.active_runtime != runtime:
        raise SystemExit(f"{name}: asked for {runtime}, ran {source.active_runtime}")
    worst = max(stats.compute_ms, default=0.0)
    over = sum(1 for v in stats.compute_ms if v > 50.0)
    return stats.percentile_ms(50), stats.percentile_ms(99), seconds / wall, worst, over


PAIRED = ("alm-mr", "autofader", "dmc-og")


def paired(channels: int, seconds: float) -> dict[str, tuple[float, float]]:
    """(p50 ms, p99 ms) of each of PAIRED's predictions on the same hops, interleaved: every hop
    goes through each source in turn (the order rotating hop by hop), so a slow spell of the
    machine (a busy neighbour on a shared host) falls on all of them alike and their ratio is
    measured under the same conditions. Networks on ONNX Runtime."""
    song = noise_song(channels, seconds)
    sources = [gain_source(name, "onnx") for name in PAIRED]
    for source in sources:
        source.reset(channels, 48_000)
    hop = 2400
    times: list[list[float]] = [[] for _ in sources]
    for k in range(song.audio.shape[1] // hop):
        block = song.audio[:, k * hop : (k + 1) * hop]
        for j in range(len(sources)):
            i = (j + k) % len(sources)
            t0 = time.perf_counter()
            sources[i].step(block)
            times[i].append(time.perf_counter() - t0)
    return {
        name: (float(np.percentile(t, 50) * 1e3), float(np.percentile(t, 99) * 1e3))
        for name, t in zip(PAIRED, times, strict=True)
    }


def paired_table(channel_counts: list[int], seconds: float) -> list[str]:
    out = [
        "Interleaved (`paired`): the same hops through ALM-MR, the auto-fader and DMC-OG in turn,",
        "p50 / p99 ms of the prediction, and each network's p99 over the auto-fader's.",
        "",
        "| channels | alm-mr | autofader | dmc-og | alm-mr / autofader (p99) "
        "| dmc-og / autofader (p99) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for ch in channel_counts:
        r = paired(ch, seconds)
        fader = r["autofader"][1]
        cells = [f"{r[n][0]:.3f} / {r[n][1]:.3f}" for n in PAIRED]
        cells += [f"x{r['alm-mr'][1] / fader:.2f}", f"x{r['dmc-og'][1] / fader:.2f}"]
        out.append(f"| {ch} | " + " | ".join(cells) + " |")
        print(out[-1], flush=True)
    return out


def _ort_version() -> str:
    try:
        import onnxruntime
    except ImportError:
        return "not installed"
    return str(onnxruntime.__version__)


def summary(rows: list[tuple[int, str, str, float, float, float, float, float]]) -> list[str]:
    """ALM-MR against the goals of issue 16, per channel count: p99 as a share of the hop, its
    runtimes against each other and against the auto-fader's p99, from the same run."""
    p99 = {(ch, name, rt): v for ch, name, rt, _, v, *_ in rows}
    out = [
        "| channels | alm-mr onnx p99 % of hop | alm-mr jit p99 % of hop | jit / onnx (p99) "
        "| alm-mr onnx / autofader (p99) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for ch in sorted({r[0] for r in rows}):
        onnx, jit = p99.get((ch, "alm-mr", "onnx")), p99.get((ch, "alm-mr", "jit"))
        fader = p99.get((ch, "autofader", "-"))
        if onnx is None:
            continue
        cells = [
            f"{100 * onnx / 50:.2f}",
            f"{100 * jit / 50:.2f}" if jit else "-",
            f"x{jit / onnx:.2f}" if jit else "-",
            f"x{onnx / fader:.1f}" if fader else "-",
        ]
        out.append(f"| {ch} | " + " | ".join(cells) + " |")
    return out if len(out) > 2 else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per measurement")
    parser.add_argument("--sources", nargs="+", default=None, help="gain sources (default: all)")
    parser.add_argument(
        "--runtimes", nargs="+", default=["onnx", "jit"], help="inference runtimes of the networks"
    )
    parser.add_argument("--channels", nargs="+", type=int, default=[8, 16, 32, 64])
    parser.add_argument(
        "--no-paired", action="store_true", help="skip the interleaved ALM-MR/auto-fader table"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_start = os.getloadavg()[0]
    # The "-untrained" entries cost the same as their trained twins: left out unless asked for.
    names = args.sources or sorted(n for n in GAIN_SOURCES if not n.endswith("-untrained"))
    runs = [
        (name, rt)
        for name in ["raw", *[n for n in names if n != "raw"]]
        for rt in (args.runtimes if is_network(name) else ["-"])
    ]
    rows = []
    extremes: list[tuple[float, int]] = []
    for channels in args.channels:
        base = None
        for name, rt in runs:
            p50, p99, rtf, worst, over = measure(name, rt, channels, args.seconds)
            base = p99 if name == "raw" else base
            ratio = p99 / base if base else 1.0
            rows.append((channels, name, rt, p50, p99, 100 * p99 / 50.0, ratio, rtf))
            extremes.append((worst, over))
            print(
                f"{channels:>3} ch  {name:<10} {rt:<5} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  "
                f"({100 * p99 / 50:5.2f} % of hop, x{ratio:4.1f} raw)  {rtf:6.0f}x real time  "
                f"max {worst:6.2f} ms, {over} over the hop",
                flush=True,
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = platform.processor() or platform.machine()
    header = (
        "| channels | gain source | runtime | p50 ms | p99 ms | p99 % of hop | p99 vs raw "
        "| real time | max ms | hops over 50 ms |"
    )
    lines = [
        "# Engine per-hop compute",
        "",
        f"`{' '.join(['benchmarks/engine_hop.py', *sys.argv[1:]])}` on {cpu},"
        f" Python {platform.python_version()}, torch {torch.__version__}, onnxruntime "
        f"{_ort_version()}, one thread, {time.strftime('%Y-%m-%d')}.",
        "p50/p99: the gain source's prediction per 50 ms hop (what the engine's deadline applies",
        "to); runtime: how the network ran (onnx: ONNX Runtime, jit: torch.jit traced and frozen).",
        "Real-time factor: the whole engine (prediction, safety stage, direct mix, automation",
        "sink) over the whole run, audio seconds per wall-clock second. Max: the slowest hop's"
        " prediction; hops over 50 ms: predictions longer than the hop (a deadline miss when"
        " running in real time). 1-minute load average at "
        f"the start: {load_start:.2f}, at the end: {os.getloadavg()[0]:.2f}, on {os.cpu_count()} "
        "cores.",
        "",
        header,
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (ch, name, rt, p50, p99, pct, ratio, rtf), (worst, over) in zip(rows, extremes,
                                                                        strict=True):  # fmt: skip
        lines.append(
            f"| {ch} | {name} | {rt} | {p50:.3f} | {p99:.3f} | {pct:.2f} | x{ratio:.1f} "
            f"| {rtf:.0f}x | {worst:.2f} | {over} |"
        )
    lines += ["", *summary(rows)]
    if not args.no_paired and set(PAIRED) <= set(names) | {"raw"}:
        lines += ["", *paired_table(args.channels, args.seconds)]
    lines += ["", f"Peak resident memory of the benchmark process: {rss_mb:.0f} MB."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
