"""Synthetic datasets: seeded train/validation/test splits of generated songs, made in parallel.

Everything follows from the dataset seed: song i's seed is SeedSequence([seed, i]), its style
cycles through the style list, and the split comes from a seeded permutation with exact counts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.data.styles import STYLES
from models.data.synth import SynthConfig, synth_to_folder

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
DATASET_JSON = "dataset.json"
FORMAT = "ailive-dataset/1"


@dataclass(frozen=True)
class SongJob:
    index: int
    split: str
    seed: int
    style: str

    @property
    def folder(self) -> str:
        return f"{self.split}/{self.index:05d}_{self.style}"


def song_seed(dataset_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([dataset_seed, index]).generate_state(1)[0])


def split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Song counts per split: largest remainders, so they add up to n."""
    frac = np.asarray(fractions, dtype=float)
    if len(frac) != len(SPLITS) or np.any(frac < 0) or frac.sum() <= 0:
        raise ValueError(f"split fractions must be 3 non-negative numbers, got {list(fractions)}")
    exact = frac / frac.sum() * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def plan_dataset(
    n_songs: int,
    seed: int,
    styles: Sequence[str] | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> list[SongJob]:
    """The songs of a dataset: index, split, seed and style, deterministic for the seed."""
    styles = list(styles or STYLES)
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        raise ValueError(f"unknown style(s) {', '.join(unknown)}; choose from {', '.join(STYLES)}")
    counts = split_counts(n_songs, fractions)
    labels = [name for name, c in zip(SPLITS, counts, strict=True) for _ in range(c)]
    order = np.random.default_rng([seed, 1]).permutation(n_songs)
    split_of = {int(i): labels[k] for k, i in enumerate(order)}
    return [
        SongJob(i, split_of[i], song_seed(seed, i), styles[i % len(styles)]) for i in range(n_songs)
    ]


def _make(job: SongJob, cfg: SynthConfig, out: Path, images: bool) -> dict[str, Any]:
    song_cfg = replace(cfg, style=job.style)
    return {**synth_to_folder(job.seed, song_cfg, out / job.folder, images), "index": job.index}


def _done(job: SongJob, out: Path) -> bool:
    meta = out / job.folder / "song.json"
    if not meta.is_file():
        return False
    try:
        return bool(json.loads(meta.read_text()).get("seed") == job.seed)
    except (OSError, json.JSONDecodeError):
        return False


def generate(
    out: Path,
    jobs: Sequence[SongJob],
    cfg: SynthConfig,
    *,
    workers: int = 1,
    images: bool = False,
    progress: Callable[[int, int, dict[str, Any] | None], None] | None = None,
    dataset_seed: int | None = None,
) -> dict[str, Any]:
    """Make every song not already there (same folder and seed); write dataset.json.

    Returns the dataset description; songs that failed are listed under "failed".
    """
    out.mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs if not _done(j, out)]
    results: dict[int, dict[str, Any]] = {}
    failed: list[dict[str, Any]] = []
    done = len(jobs) - len(todo)
    if progress:
        progress(done, len(jobs), None)
    t0 = time.perf_counter()
    if workers <= 1:
        for job in todo:
            try:
                results[job.index] = _make(job, cfg, out, images)
            except (RuntimeError, ValueError, OSError) as exc:
                failed.append({"index": job.index, "folder": job.folder, "error": str(exc)})
            done += 1
            if progress:
                progress(done, len(jobs), results.get(job.index))
    else:
        # Spawned, not forked: a fork of a process that already rendered or convolved (threads,
        # library locks) can deadlock in the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: dict[Future[dict[str, Any]], SongJob] = {
                pool.submit(_make, job, cfg, out, images): job for job in todo
            }
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = pending.pop(fut)
                    try:
                        results[job.index] = fut.result()
                    except (RuntimeError, ValueError, OSError) as exc:
                        failed.append({"index": job.index, "folder": job.folder, "error": str(exc)})
                    done += 1
                    if progress:
                        progress(done, len(jobs), results.get(job.index))
    wall = time.perf_counter() - t0
    description = {
        "format": FORMAT,
        "seed": dataset_seed,
        "songs": len(jobs),
        "seconds": cfg.seconds,
        "splits": {s: sum(j.split == s for j in jobs) for s in SPLITS},
        "soundfont": None if cfg.soundfont is None else str(cfg.soundfont),
        "sound_pool": cfg.pool,
        "engineer": cfg.engineer,
        "augment": cfg.augment and cfg.pool is not None,
        "stage": asdict(cfg.stage),
        "made_now": len(results),
        "wall_s": round(wall, 2),
        "workers": workers,
        "failed": failed,
        "index": [{**asdict(j), "folder": j.folder} for j in jobs],
    }
    (out / DATASET_JSON).write_text(json.dumps(description, indent=2) + "\n")
    return {**description, "results": [results[k] for k in sorted(results)]}


def default_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 1)))
