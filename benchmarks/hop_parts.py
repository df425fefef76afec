"""Where the shipped ALM-MR's hop goes, and what int8 weights would buy (issue 16).

Times the parts of `StreamingMixer.step` one by one at 8, 32 and 64 channels, back to back (hot
caches, one thread): the causal log-mel of a hop (5 frames of a 1536-point FFT per channel), the
embedding of the windows due in a hop, the per-frame network, and the whole step. Beside them,
ONNX Runtime's dynamic int8 quantisation of the two graphs (`onnxruntime.quantization.
quantize_dynamic`, weights int8, activations quantised per call), timed the same way, and what
it does to the gains: the demo song (its 8 channels repeated to the channel count) through the
runner with the int8 graphs against the float32 runner. Writes benchmarks/results/hop_parts.md.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.hop_parts [--reps 400]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bridge.config import DEMO_SONG_DIR
from models.alm.config import MR_FRAME, WINDOW_FRAMES
from models.gainsource import make_gain_source
from models.inference import StreamingMixer, graph_keys
from models.runtime import OrtFunction, cache_dir
from models.song import load_song

RESULTS = Path(__file__).parent / "results" / "hop_parts.md"
CHANNELS = (8, 32, 64)
Pair = tuple[float, float]


def timed(fn: Callable[[], object], reps: int) -> Pair:
    """(p50, p99) ms of `fn`, called back to back after a warm-up."""
    for _ in range(20):
        fn()
    ts = np.empty(reps)
    for k in range(reps):
        t0 = time.perf_counter()
        fn()
        ts[k] = time.perf_counter() - t0
    return float(np.median(ts) * 1e3), float(np.percentile(ts, 99) * 1e3)


def int8(graph: Path, ops: list[str]) -> OrtFunction:
    """The cached graph with its `ops` dynamically quantised to int8 weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "f32.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(graph.read_bytes())
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=ops)
        return OrtFunction(dst.read_bytes())


def song_gains(runner: StreamingMixer, audio: np.ndarray) -> np.ndarray:
    """The runner's gains per hop over `audio`, from the state it is in (just reset)."""
    hops = audio.shape[1] // MR_FRAME
    return np.stack([runner.step(audio[:, k * MR_FRAME : (k + 1) * MR_FRAME]) for k in range(hops)])


def measure(channels: int, reps: int, song: np.ndarray) -> tuple[int, dict[str, Pair]]:
    """(windows due per hop, {part: (p50, p99) ms}, with "int8_db": (mean, max) |dB|)."""
    runner = make_gain_source("alm-mr")
    assert isinstance(runner, StreamingMixer)
    runner.runtime = "onnx"
    runner.reset(channels, 48_000)
    fe = runner.model.frontend
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((channels, fe.context + 5 * fe.hop))).astype(np.float32)
    due = max(len(d) for d in runner._due)
    windows = rng.standard_normal((due, WINDOW_FRAMES, fe.n_mels)).astype(np.float32)
    d = runner._emb.shape[1]
    emb = rng.standard_normal((1, channels, 1, d)).astype(np.float32)
    rms = (-30.0 + 10.0 * rng.standard_normal((1, channels, 1))).astype(np.float32)
    state = (0.3 * rng.standard_normal(runner._state.shape)).astype(np.float32)
    embed_f32, core_f32 = runner._embed, runner._core
    # The graphs the runner's reset exported, from the cache.
    core_key, embed_key = graph_keys(runner.model, channels)
    embed_q = int8(cache_dir() / f"{embed_key}.onnx", ["Conv", "MatMul", "Gemm"])
    core_q = int8(cache_dir() / f"{core_key}.onnx", ["MatMul", "Gemm"])
    hop = np.ascontiguousarray(audio[:, :MR_FRAME])
    row: dict[str, Pair] = {
        "frontend": timed(lambda: fe.frames_np(audio), reps),
        "embed": timed(lambda: embed_f32(windows), reps),
        "embed_int8": timed(lambda: embed_q.run_np(windows), reps),
        "core": timed(lambda: core_f32(emb, rms, state), reps),
        "core_int8": timed(lambda: core_q.run_np(emb, rms, state), reps),
        "step": timed(lambda: runner.step(hop), reps),
    }
    tiled = np.tile(song, (channels // song.shape[0] + 1, 1))[:channels]
    runner.reset(channels, 48_000)
    reference = song_gains(runner, tiled)
    runner.reset(channels, 48_000)
    runner._embed, runner._core = embed_q.run_np, core_q.run_np
    diff = np.abs(song_gains(runner, tiled) - reference)
    row["int8_db"] = (float(np.mean(diff)), float(np.max(diff)))
    return due, row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400)
    args = ap.parse_args()
    torch.set_num_threads(1)
    song = load_song(DEMO_SONG_DIR, with_target=False).audio
    load = os.getloadavg()[0]
    rows = {c: measure(c, args.reps, song) for c in CHANNELS}
    lines = [
        "# Where ALM-MR's hop goes; int8 weights",
        "",
        f"`benchmarks/hop_parts.py --reps {args.reps}` on {platform.machine()}, Python "
        f"{platform.python_version()}, torch {torch.__version__}, ONNX Runtime, one thread, "
        f"{time.strftime('%Y-%m-%d')}; 1-minute load average at the start {load:.2f}. Each part "
        "called back to back (hot caches): p50 / p99 ms. In the engine the same parts run "
        "between other work and take longer (`engine_hop.md`).",
        "",
        "| channels | log-mel (5 frames) | embedding (windows due) | per-frame network "
        "| whole step | embedding int8 | network int8 | int8 gains vs float32, mean / max dB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for channels, (windows, r) in rows.items():

        def cell(key: str, row: dict[str, Pair] = r) -> str:
            p50, p99 = row[key]
            return f"{p50:.3f} / {p99:.3f}"

        mean_db, max_db = r["int8_db"]
        lines.append(
            f"| {channels} | {cell('frontend')} | {cell('embed')} ({windows}) "
            f"| {cell('core')} | {cell('step')} | {cell('embed_int8')} | {cell('core_int8')} "
            f"| {mean_db:.3f} / {max_db:.2f} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
