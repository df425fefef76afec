"""Summaries of generated songs and datasets (what `ailive data info` prints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from models.data.dataset import DATASET_JSON, SPLITS
from models.data.stage import NO_BLEED_DB
from models.song import SONG_JSON, TARGET_MIX, SongError


def song_summary(folder: Path) -> dict[str, Any]:
    """One song folder from its song.json and file headers (no audio decoded)."""
    try:
        meta = json.loads((folder / SONG_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SongError(f"{folder / SONG_JSON}: unreadable ({exc})") from exc
    seconds = None
    if (folder / TARGET_MIX).is_file():
        seconds = sf.info(str(folder / TARGET_MIX)).duration
    bleed = np.array(meta.get("bleed_matrix_db") or [[0.0]], dtype=float)
    off = bleed[~np.eye(len(bleed), dtype=bool)]
    off = off[off > NO_BLEED_DB]
    oracle = (meta.get("oracle") or {}).get("snr_db") or {}
    return {
        "folder": str(folder),
        "title": meta.get("title"),
        "style": meta.get("style") or meta.get("corpus"),
        "channels": len(meta.get("channels", [])),
        "di": len(meta.get("di_channels", [])),
        "seconds": seconds,
        "bleed_db_mean": float(off.mean()) if off.size else None,
        "bleed_db_max": float(off.max()) if off.size else None,
        "rt60_s": (meta.get("stage") or {}).get("rt60_s"),
        "oracle_snr_db": oracle.get("frame"),
        "static_snr_db": oracle.get("static"),
        "raw_snr_db": oracle.get("raw_best_master"),
        "bytes": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def summarise(path: Path) -> dict[str, Any]:
    """A dataset folder (dataset.json), a song folder, or any folder holding song folders."""
    if not path.is_dir():
        raise SongError(f"{path}: no such folder")
    dataset: dict[str, Any] = {}
    if (path / DATASET_JSON).is_file():
        dataset = json.loads((path / DATASET_JSON).read_text())
    if (path / SONG_JSON).is_file():
        folders = [path]
    else:
        folders = sorted(p.parent for p in path.rglob(SONG_JSON))
    if not folders:
        raise SongError(f"{path}: no songs (no song.json below it)")
    rows = [song_summary(f) for f in folders]
    by_split: dict[str, int] = {}
    for f in folders:
        rel = f.relative_to(path).parts if f != path else ()
        split = rel[0] if rel and rel[0] in SPLITS else "-"
        by_split[split] = by_split.get(split, 0) + 1
    styles: dict[str, int] = {}
    for r in rows:
        styles[str(r["style"])] = styles.get(str(r["style"]), 0) + 1
    return {
        "path": str(path),
        "songs": len(rows),
        "splits": by_split,
        "styles": styles,
        "seed": dataset.get("seed"),
        "seconds_total": sum(r["seconds"] or 0.0 for r in rows),
        "channels_mean": _mean(rows, "channels"),
        "bleed_db_mean": _mean(rows, "bleed_db_mean"),
        "oracle_snr_db_mean": _mean(rows, "oracle_snr_db"),
        "static_snr_db_mean": _mean(rows, "static_snr_db"),
        "raw_snr_db_mean": _mean(rows, "raw_snr_db"),
        "bytes": sum(r["bytes"] for r in rows),
        "failed": len(dataset.get("failed", [])),
        "rows": rows,
    }


def format_summary(s: dict[str, Any]) -> str:
    def num(v: float | None, fmt: str = "{:.1f}") -> str:
        return "-" if v is None else fmt.format(v)

    lines = [
        f"{s['path']}: {s['songs']} songs, {s['seconds_total'] / 60:.1f} min, "
        f"{s['bytes'] / 1e6:.1f} MB ({s['bytes'] / 1e6 / max(s['songs'], 1):.1f} MB per song)",
        "splits: " + ", ".join(f"{k} {v}" for k, v in s["splits"].items()),
        "styles: " + ", ".join(f"{k} {v}" for k, v in sorted(s["styles"].items())),
        f"channels per song: {num(s['channels_mean'])}; mean bleed {num(s['bleed_db_mean'])} dB",
        f"SNR to the target (dB): raw {num(s['raw_snr_db_mean'])}, "
        f"static oracle {num(s['static_snr_db_mean'])}, "
        f"frame oracle {num(s['oracle_snr_db_mean'])}",
    ]
    if s["seed"] is not None:
        lines.append(f"dataset seed: {s['seed']}")
    if s["failed"]:
        lines.append(f"failed songs: {s['failed']} (see dataset.json)")
    if s["songs"] <= 20:
        lines.append("")
        lines.append(f"{'song':<28} {'style':<8} {'ch':>3} {'DI':>3} {'s':>6} {'RT60':>5} "
                     f"{'bleed':>6} {'raw':>6} {'oracle':>6}")  # fmt: skip
        for r in s["rows"]:
            name = Path(r["folder"]).name[-28:]
            lines.append(
                f"{name:<28} {r['style'] or '-':<8} {r['channels']:>3} {r['di']:>3} "
                f"{num(r['seconds']):>6} {num(r['rt60_s'], '{:.2f}'):>5} "
                f"{num(r['bleed_db_mean']):>6} {num(r['raw_snr_db']):>6} "
                f"{num(r['oracle_snr_db']):>6}"
            )
    return "\n".join(lines)
