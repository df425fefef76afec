"""Per-hop compute of the streaming model runner (ALM-MR/SR, DMC) by embedding and channel count.

Times `StreamingMixer.step` on noise, one torch thread, after a warm-up, and writes p50/p99/max
per 50 ms hop to benchmarks/results/model_hop.md. The networks have random weights: the compute
is the trained models' (same shapes), the gains are not.

    .venv/bin/python benchmarks/model_hop.py [--seconds 20] [--mn04-seconds 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from models.alm.config import ALMConfig
from models.alm.network import ALMNet
from models.embedding.student import StudentEmbedding
from models.inference import StreamingMixer, untrained_model

RESULTS = Path(__file__).parent / "results" / "model_hop.md"
HOP = 2400
WARMUP_HOPS = 20
CHANNELS = (8, 16, 32, 64)


def configurations() -> dict[str, tuple[str, StreamingMixer]]:
    """name -> (embedding label, runner)."""
    torch.manual_seed(0)
    sync = ALMNet(StudentEmbedding(), ALMConfig(refresh="sync")).eval()
    return {
        "ALM-MR": ("student", StreamingMixer(untrained_model("alm", "mr"))),
        "ALM-MR sync refresh": ("student", StreamingMixer(sync)),
        "ALM-SR": ("student", StreamingMixer(untrained_model("alm", "sr"))),
        "DMC": ("student", StreamingMixer(untrained_model("dmc", "sr"))),
        "ALM-MR (mn04)": ("mn04", StreamingMixer(untrained_model("alm", "mr", "mn04"))),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per measurement")
    parser.add_argument("--mn04-seconds", type=float, default=4.0, help="the same, for mn04")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    load_before = os.getloadavg()[0]
    for name, (embedding, mixer) in configurations().items():
        seconds = args.mn04_seconds if embedding == "mn04" else args.seconds
        for channels in CHANNELS:
            ms, cpu_ms = measure(mixer, channels, seconds)
            p50, p99, worst = np.percentile(ms, 50), np.percentile(ms, 99), ms.max()
            cpu99 = np.percentile(cpu_ms, 99)
            rows.append((name, embedding, channels, p50, p99, worst, ms.mean(), cpu99))
            print(
                f"{name:<20} {embedding:<8} {channels:>3} ch  p50 {p50:7.3f}  p99 {p99:7.3f}  "
                f"max {worst:7.3f}  cpu p99 {cpu99:7.3f} ms  ({100 * p99 / 50:6.2f} % of hop)",
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
        f"{WARMUP_HOPS}-hop warm-up; traced and frozen with torch.jit. ALM-MR refreshes each",
        "channel's embedding every 300 ms, staggered (a sixth of the channels per hop); the sync",
        "row refreshes every channel on the same hop, as the paper describes. ALM-SR and DMC",
        "embed every channel once per 975 ms frame, so their p99 is that hop. Wall-clock columns",
        "include what other processes took from the hop (1-minute load average "
        f"{load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores); "
        "`cpu p99` is the",
        "runner thread's own CPU time.",
        "",
        "| model | embedding | channels | p50 ms | p99 ms | max ms | mean ms | cpu p99 ms "
        "| p99 % of hop |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, embedding, ch, p50, p99, worst, mean, cpu99 in rows:
        lines.append(
            f"| {name} | {embedding} | {ch} | {p50:.3f} | {p99:.3f} | {worst:.3f} | {mean:.3f} "
            f"| {cpu99:.3f} | {100 * p99 / 50:.2f} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
