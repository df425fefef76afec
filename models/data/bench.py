"""Benchmark and statistics of the data engine: generation speed per step, bleed, target levels
per role, and how far RAW and the oracles are from the target.

    python -m models.data.bench [--songs 8] [--seconds 20] [--workers 2] [--out DIR]
                                [--pool train|heldout]  (default: FluidR3 only, as before)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.data.dataset import generate, plan_dataset
from models.data.stage import NO_BLEED_DB
from models.data.stats import balance_errors_db, mix_with, mrstft
from models.data.store import read_song_data
from models.data.synth import SynthConfig, synth_to_folder

STEPS = ("compose_s", "render_s", "stage_s", "target_s", "oracle_s", "write_s", "total_s")


def _pct(values: Sequence[float]) -> str:
    v = np.asarray(values, dtype=float)
    return " / ".join(f"{q:.1f}" for q in np.percentile(v, [5, 50, 95]))


def run(
    songs: int, seconds: float, workers: int, seed: int, out: Path, pool: str | None = None
) -> str:
    engineer = "second" if pool == "heldout" else "first"
    cfg = SynthConfig(seconds=seconds, pool=pool, engineer=engineer)
    jobs = plan_dataset(songs, seed, fractions=(1, 0, 0))
    sounds = f", sound pool {pool}" if pool else ""
    lines = [f"## Data engine: {songs} songs of {seconds:g} s (seed {seed}{sounds})", ""]
    # Speed: one process, every step timed.
    rows = []
    for job in jobs:
        cfg_job = SynthConfig(seconds, job.style, pool=pool, engineer=engineer)
        rows.append(synth_to_folder(job.seed, cfg_job, out / "serial" / job.folder))
    lines += ["| step | mean s per song | share |", "|---|---:|---:|"]
    total = float(np.mean([r["total_s"] for r in rows]))
    for step in STEPS:
        mean = float(np.mean([r[step] for r in rows]))
        lines.append(f"| {step[:-2]} | {mean:.2f} | {100 * mean / total:.0f} % |")
    mb = np.mean([r["bytes"] for r in rows]) / 1e6
    ch = np.mean([r["channels"] for r in rows])
    lines += [
        "",
        f"One core: {total:.2f} s per song ({seconds / total:.1f}x real time), "
        f"{ch:.1f} channels and {mb:.1f} MB on disk per song.",
    ]
    if workers > 1:
        t0 = time.perf_counter()
        generate(out / "parallel", jobs, cfg, workers=workers)
        wall = time.perf_counter() - t0
        lines.append(
            f"{workers} workers: {songs} songs in {wall:.1f} s, "
            f"{songs * seconds / wall:.1f}x real time."
        )
    # Statistics over the generated songs.
    bleed: list[float] = []
    snr: dict[str, list[float]] = {"raw": [], "static": [], "frame": []}
    mrs: dict[str, list[float]] = {}
    bal: dict[str, list[float]] = {}
    levels: dict[str, list[float]] = {}
    for job in jobs:
        data = read_song_data(out / "serial" / job.folder)
        meta = data.song.meta
        matrix = np.array(meta.bleed_matrix_db)
        off = matrix[~np.eye(len(matrix), dtype=bool)]
        bleed += off[off > NO_BLEED_DB].tolist()
        rules = meta.extra["target_rules"]["levels_db"]
        for info, level in zip(meta.channels, rules, strict=True):
            levels.setdefault(info.role, []).append(level)
        report = meta.extra["oracle"]["snr_db"]
        snr["raw"].append(report["raw_best_master"])
        snr["static"].append(report["static"])
        snr["frame"].append(report["frame"])
        images = data.images()
        target = data.song.target_mix
        assert target is not None and data.oracle_gains_db is not None
        assert data.oracle_static_db is not None
        frames = data.oracle_gains_db.shape[0]
        static = np.tile(data.oracle_static_db, (frames, 1))
        for name, gains in (("raw", None), ("static", static), ("frame", data.oracle_gains_db)):
            mrs.setdefault(name, []).append(mrstft(mix_with(data, gains), target))
            err = balance_errors_db(data, gains, images)
            bal.setdefault(name, []).append(float(np.mean(np.abs(err))))
    lines += [
        "",
        f"Bleed of the miked channels (each other source, dB rel. own; 5th / 50th / 95th "
        f"percentile): {_pct(bleed)} over {len(bleed)} pairs.",
        "",
        "| role | songs | target level vs lead, dB (5th / 50th / 95th) |",
        "|---|---:|---|",
    ]
    for role in sorted(levels, key=lambda r: -np.median(levels[r])):
        lines.append(f"| {role} | {len(levels[role])} | {_pct(levels[role])} |")
    lines += [
        "",
        "| mix | SNR to target, dB | MR-STFT | balance error, mean abs dB |",
        "|---|---:|---:|---:|",
    ]
    names = {"raw": "RAW (unity sum)", "static": "static oracle", "frame": "per-frame oracle"}
    for key, label in names.items():
        lines.append(
            f"| {label} | {np.mean(snr[key]):.1f} | {np.mean(mrs[key]):.2f} | "
            f"{np.mean(bal[key]):.2f} |"
        )
    lines.append("")
    lines.append("RAW's SNR is at its best master gain; MR-STFT and balance take the mix as is "
                 "(balance after the best master gain).")  # fmt: skip
    (out / "bench.json").write_text(json.dumps({"rows": rows}, indent=2))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.data.bench")
    parser.add_argument("--songs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the songs here")
    parser.add_argument("--pool", choices=("train", "heldout"), default=None,
                        help="sound pool (default: every part from FluidR3_GM)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.out is None:
        with tempfile.TemporaryDirectory(prefix="ailive_bench_") as tmp:
            print(run(args.songs, args.seconds, args.workers, args.seed, Path(tmp), args.pool))
    else:
        print(run(args.songs, args.seconds, args.workers, args.seed, args.out, args.pool))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
