"""One synthetic live-band song, end to end: arrangement, rendering, stage, target and oracle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.data.acoustics import active_rms, db
from models.data.band import compose_band
from models.data.oracle import OracleGains, oracle_gains, oracle_report
from models.data.render import SAMPLE_RATE, find_soundfont, render_parts, soundfont_licence
from models.data.stage import StageConfig, StageResult, simulate_stage
from models.data.store import SongData, write_song_data
from models.data.styles import STYLES
from models.data.targets import (
    ENGINEERS,
    HOP_SECONDS,
    draw_rules,
    level_shift_db,
    make_target,
    target_gains_db,
)
from models.song import ChannelInfo, Song, SongMeta

SOURCE_DBFS = -24.0
"""Active RMS of every stored dry source."""
SOURCE_PEAK = 0.9
GENERATOR = "models.data.synth"


@dataclass(frozen=True)
class SynthConfig:
    seconds: float = 20.0
    style: str | None = None
    """None: the song's seed picks the style."""
    soundfont: Path | None = None
    stage: StageConfig = field(default_factory=StageConfig)
    backend: str = "auto"
    """Rendering: auto, inprocess (pyfluidsynth) or cli (the fluidsynth program)."""
    pool: str | None = None
    """None: every part from `soundfont` (GM kits), no augmentation. "train", "wide" or "heldout":
    the soundfont and drum kit drawn per song from that sound pool (models/data/pools.py),
    with augmentations; `soundfont` and `backend` are then unused (in-process rendering)."""
    pool_only: tuple[str, ...] | None = None
    """A subset of the pool by source key (small tests)."""
    augment: bool = True
    engineer: str = "first"
    """Whose rules table makes the target: "first" or "second" (models/data/targets.py)."""


def pcm16(x: np.ndarray) -> np.ndarray:
    """Round to the 16-bit grid libsndfile writes, so stored files equal what was computed."""
    return (np.clip(np.round(x * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def prepare_sources(tracks: list[np.ndarray]) -> np.ndarray:
    """Dry tracks -> (S, n) float32 at SOURCE_DBFS active RMS (lower if a peak would pass
    SOURCE_PEAK), on the 16-bit grid."""
    out = []
    for x in tracks:
        gain = 10 ** (SOURCE_DBFS / 20) / active_rms(x)
        gain = min(gain, SOURCE_PEAK / max(float(np.max(np.abs(x))), 1e-9))
        out.append(pcm16(x * gain))
    return np.stack(out)


def build_song_data(
    sources: np.ndarray,
    roles: list[str],
    names: list[str],
    instruments: list[str],
    sections: list[dict[str, Any]],
    seed: int,
    stage_cfg: StageConfig,
    style_offsets_db: dict[str, float] | None = None,
    soloist: int | None = None,
    target: np.ndarray | None = None,
    sample_rate: int = SAMPLE_RATE,
    engineer: str = "first",
) -> tuple[SongData, StageResult, dict[str, float]]:
    """Stage, target and oracle on top of dry sources (S, n); the timings of each step.

    The target is a mix of the clean channels (`StageResult.clean`: each source as its own
    channel carries it, without bleed). With `target` given (a reference mix made from the dry
    sources, e.g. MedleyDB's), the per-source target gains are estimated by the oracle solver
    on the dry sources instead of drawn from the rules.
    """
    timings: dict[str, float] = {}
    hop = round(HOP_SECONDS * sample_rate)
    t0 = time.perf_counter()
    stage = simulate_stage(
        sources, roles, np.random.default_rng([seed, 20]), stage_cfg, sample_rate
    )
    channels = pcm16(stage.channels)
    t1 = time.perf_counter()
    timings["stage_s"] = t1 - t0
    rules_json: dict[str, Any]
    raw_dbfs = float(db(np.sqrt(np.mean(channels.sum(axis=0, dtype=np.float64) ** 2))))
    if target is None:
        rules = draw_rules(
            roles, style_offsets_db or {}, np.random.default_rng([seed, 30]), ENGINEERS[engineer]
        )
        gains = target_gains_db(stage.clean, roles, sections, rules, sample_rate, soloist, hop)
        mix, gains32 = make_target(stage.clean, gains, hop, rms_dbfs=raw_dbfs)
        target = pcm16(mix)
        rules_json = {"kind": "rules", **rules.to_json()}
    else:
        target = pcm16(target * 10 ** (level_shift_db(target, raw_dbfs) / 20))
        gains32 = oracle_gains(sources, target, hop).frame_db
        rules_json = {"kind": "estimated from the reference mix (least squares on the sources)"}
    t2 = time.perf_counter()
    timings["target_s"] = t2 - t1
    oracle: OracleGains = oracle_gains(channels, target, hop)
    report = oracle_report(channels, target, oracle, hop)
    timings["oracle_s"] = time.perf_counter() - t2
    meta = SongMeta(
        sample_rate=sample_rate,
        channels=[ChannelInfo(n, i, r) for n, i, r in zip(names, instruments, roles, strict=True)],
        seed=seed,
        bleed_matrix_db=stage.bleed_db,
        extra={
            "format": "ailive-data/1",
            "hop_samples": hop,
            "sections": sections,
            "di_channels": [n for n, d in zip(names, stage.plan.di, strict=True) if d],
            "stage": {
                **stage.plan.to_json(),
                "bleed_in_range": stage.bleed_in_range,
                "bleed_range_db": list(stage_cfg.bleed_db),
                "draws": stage.draws,
                "mic_distance_m": [
                    None if (d := stage.plan.mic_distance_m(m)) is None else round(d, 3)
                    for m in range(len(names))
                ],
            },
            "target_rules": rules_json,
            "target_gains_of": "clean" if "levels_db" in rules_json else "sources",
            "oracle": {
                "static_gains_db": [round(float(v), 2) for v in oracle.static_db],
                "snr_db": report,
            },
        },
    )
    song = Song(meta=meta, audio=channels, target_mix=target)
    data = SongData(song, sources, gains32, oracle.frame_db, oracle.static_db, stage.rirs)
    return data, stage, timings


def synth_song(seed: int, cfg: SynthConfig) -> tuple[SongData, dict[str, float]]:
    """Generate one song (deterministic for a seed and config) and the seconds each step took."""
    import pretty_midi as pm

    if cfg.engineer not in ENGINEERS:
        raise ValueError(f"unknown engineer {cfg.engineer!r}; choose from {', '.join(ENGINEERS)}")
    t0 = time.perf_counter()
    sf2 = find_soundfont(cfg.soundfont) if cfg.pool is None else None
    arr = compose_band(seed, cfg.seconds, cfg.style)
    t1 = time.perf_counter()
    n = round(cfg.seconds * SAMPLE_RATE)
    extra: dict[str, Any] = {}
    if sf2 is None:
        from models.data.sounds import render_from_pool

        assert cfg.pool is not None
        made = render_from_pool(arr, seed, cfg.pool, n, cfg.pool_only, cfg.augment)
        rendered, song_sources = made.audio, made.sources
        extra = {"sound_pool": cfg.pool, "augment": made.augments if cfg.augment else None}
    else:
        rendered = render_parts({p.name: p.midi for p in arr.parts}, arr.tempo, sf2, n, cfg.backend)
        licence = soundfont_licence(sf2)
        song_sources = [
            {
                "part": p.name,
                "soundfont": sf2.name,
                "program": f"GM drum kit {p.program}" if p.is_drum else
                f"GM {p.program} {pm.program_to_instrument_name(p.program)}",
                "licence": licence,
            }
            for p in arr.parts
        ]  # fmt: skip
    t2 = time.perf_counter()
    sources = prepare_sources([rendered[p.name] for p in arr.parts])
    names = [p.name for p in arr.parts]
    data, _, timings = build_song_data(
        sources,
        roles=[p.role for p in arr.parts],
        names=names,
        instruments=[p.instrument for p in arr.parts],
        sections=arr.section_times(),
        seed=seed,
        stage_cfg=cfg.stage,
        style_offsets_db=STYLES[arr.style].mix_offsets_db,
        soloist=names.index(arr.soloist),
        engineer=cfg.engineer,
    )
    meta = data.song.meta
    meta.sources = song_sources
    meta.extra = {
        "title": f"{arr.style} song (seed {seed})",
        "generator": GENERATOR,
        "style": arr.style,
        "tempo_bpm": round(arr.tempo, 2),
        "key": arr.key,
        "progressions": arr.progressions,
        "soloist": arr.soloist,
        "source_dbfs": SOURCE_DBFS,
        "levels_dbfs": [round(float(db(np.sqrt(np.mean(c**2)))), 1) for c in data.song.audio],
        **extra,
        **meta.extra,
    }
    timings = {"compose_s": t1 - t0, "render_s": t2 - t1, **timings}
    return data, timings


def synth_to_folder(
    seed: int, cfg: SynthConfig, folder: Path, images: bool = False
) -> dict[str, Any]:
    """Generate one song into a folder; returns timings and the size on disk."""
    t0 = time.perf_counter()
    data, timings = synth_song(seed, cfg)
    t1 = time.perf_counter()
    write_song_data(data, folder, images=images)
    timings["write_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"folder": str(folder), "seed": seed, "bytes": size, **timings,
            "style": data.song.meta.extra["style"], "channels": len(data.song.names)}  # fmt: skip
