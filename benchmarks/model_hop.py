"""Per-hop compute of the streaming model runner (ALM-MR/SR, DMC) by embedding and channel count.

Times `StreamingMixer.step` on noise, one torch thread, after a warm-up, and writes p50/p99/max
per 50 ms hop to benchmarks/results/model_hop.md. The networks have random weights: the compute
is the trained models' (same shapes), the gains are not. Each network runs on every inference
runtime asked for (models.runtime), one after the other in the same run.

    .venv/bin/python -m benchmarks.model_hop [--seconds 20] [--mn04-seconds 4] [--runtimes onnx jit]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.alm import MixerNet
from models.alm.config import ALMConfig
from models.alm.network import ALMNet
from models.embedding.student import StudentEmbedding
from models.inference import StreamingMixer, untrained_model

RESULTS = Path(__file__).parent / "results" / "model_hop.md"
HOP = 2400
WARMUP_HOPS = 20
CHANNELS = (8, 16, 32, 64)


def configurations() -> dict[str, tuple[str, MixerNet]]:
    """name -> (embedding label, network)."""
    torch.manual_seed(0)
    sync = ALMNet(StudentEmbedding(), ALMConfig(refresh="sync")).eval()
    return {
        "ALM-MR": ("student", untrained_model("alm", "mr")),
        "ALM-MR sync refresh": ("student", sync),
        "ALM-SR": ("student", untrained_model("alm", "sr")),
        "DMC": ("student", untrained_model("dmc", "sr")),
        "ALM-MR (mn04)": ("mn04", untrained_model("alm", "mr", "mn04")),
    }


def measure(mixer: StreamingMixer, channels: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per hop after the warm-up: (wall clock, this thread's CPU time).

    The CPU time leaves out what other processes on a shared machine take from the hop.
    """
    hops = WARMUP_HOPS + int(seconds / 0.05)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((channels, hops * HOP))).astype(np.float32)
    mixer.reset(channels, 48_000)
    wall, cpu = [], []
    for k in range(hops):
        t0, c0 = time.perf_counter(), time.thread_time()
        mixer.step(audio[:, k * HOP : (k + 1) * HOP])
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return 1000 * np.array(wall[WARMUP_HOPS:]), 1000 * np.array(cpu[WARMUP_HOPS:])


def _ort_version() -> str:
    try:
        import onnxruntime
    except ImportError:
        return "(not installed)"
    return str(onnxruntime.__version__)


def speedups(rows: list[tuple[Any, ...]]) -> list[str]:
    """jit / onnx per model and channel count, from the CPU p50 (least touched by the load)."""
    cpu = {(r[0], r[2], r[3]): r[8] for r in rows}
    out = ["| model | channels | cpu p50 jit / onnx |", "|---|---:|---:|"]
    for name, ran, ch in cpu:
        if ran == "onnx" and (name, "jit", ch) in cpu:
            out.append(f"| {name} | {ch} | x{cpu[name, 'jit', ch] / cpu[name, 'onnx', ch]:.2f} |")
    return out if len(out) > 2 else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per measurement")
    parser.add_argument("--mn04-seconds", type=float, default=4.0, help="the same, for mn04")
    parser.add_argument("--runtimes", nargs="+", default=["onnx", "jit"], help="models.runtime")
    parser.add_argument("--models", nargs="+", default=None, help="names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    load_before = os.getloadavg()[0]
    chosen = {k: v for k, v in configurations().items() if not args.models or k in args.models}
    for name, (embedding, model) in chosen.items():
        seconds = args.mn04_seconds if embedding == "mn04" else args.seconds
        for channels in CHANNELS:
            for runtime in args.runtimes:
                mixer = StreamingMixer(model, runtime=runtime)
                ms, cpu_ms = measure(mixer, channels, seconds)
                p50, p99, worst = np.percentile(ms, 50), np.percentile(ms, 99), ms.max()
                cpu50, cpu99 = np.percentile(cpu_ms, 50), np.percentile(cpu_ms, 99)
                ran = mixer.active_runtime
                rows.append(
                    (name, embedding, ran, channels, p50, p99, worst, ms.mean(), cpu50, cpu99)
                )
                print(
                    f"{name:<20} {embedding:<8} {ran:<5} {channels:>3} ch  p50 {p50:7.3f}  "
                    f"p99 {p99:7.3f}  max {worst:7.3f}  cpu p50 {cpu50:7.3f} p99 {cpu99:7.3f} ms"
                    f"  ({100 * p99 / 50:6.2f} % of hop)",
                    flush=True,
                )
    load_after = os.getloadavg()[0]
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Model runner per-hop compute",
        "",
        f"`benchmarks/model_hop.py --seconds {args.seconds:g} --mn04-seconds "
        f"{args.mn04_seconds:g}` on {cpu}, Python {platform.python_version()}, torch "
        f"{torch.__version__}, torch threads 1, {time.strftime('%Y-%m-%d')}.",
        "`StreamingMixer.step` per 50 ms hop on noise (random weights, real shapes), after a",
        f"{WARMUP_HOPS}-hop warm-up; runtime onnx: ONNX Runtime {_ort_version()}, jit: traced and "
        "frozen with torch.jit, both one thread. ALM-MR refreshes each",
        "channel's embedding every 300 ms, staggered (a sixth of the channels per hop); the sync",
        "row refreshes every channel on the same hop, as the paper describes. ALM-SR and DMC",
        "embed every channel once per 975 ms frame, so their p99 is that hop. Wall-clock columns",
        "include what other processes took from the hop (1-minute load average "
        f"{load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores); "
        "`cpu p99` is the",
        "runner thread's own CPU time.",
        "",
        "| model | embedding | runtime | channels | p50 ms | p99 ms | max ms | mean ms "
        "| cpu p50 ms | cpu p99 ms | p99 % of hop |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, embedding, ran, ch, p50, p99, worst, mean, cpu50, cpu99 in rows:
        lines.append(
            f"| {name} | {embedding} | {ran} | {ch} | {p50:.3f} | {p99:.3f} | {worst:.3f} "
            f"| {mean:.3f} | {cpu50:.3f} | {cpu99:.3f} | {100 * p99 / 50:.2f} |"
        )
    lines += ["", *speedups(rows)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
