"""A simulated engineer with a taste of its own, for measuring learn mode.

A rules-table variant (models.data.targets): the lead 3 dB up, the drums (overheads, hi-hat:
the rules table's "drums" role) 3 dB down and the bass 2 dB up against the first engineer's
table, slower hands (rides over 1.5 s instead of 0.75 s) and the same taste every song: no
per-song jitter and no per-song band offset (a person's habits, not a random draw per song).
Its faders for a synthetic song are the song's own rules (sections, soloist, style) drawn for
this engineer, moved to each channel's level as the data engine moves the target gains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.data.targets import (
    ENGINEERS,
    ROLE_LEVELS_DB,
    Engineer,
    draw_rules,
    make_target,
    target_gains_db,
)

TASTE_DB = {"lead": 3.0, "drums": -3.0, "bass": 2.0}
"""The taste against the rules table, dB (the lead's level is the reference: +3 on the lead is
-3 on everything else, which the balance metric sees the same way)."""
FADER_RANGE_DB = (-90.0, 10.0)
"""An X32 fader's travel (below -90 dB it is closed)."""


def taste_engineer() -> Engineer:
    levels = dict(ROLE_LEVELS_DB)
    lead = TASTE_DB["lead"]
    for role in levels:
        if role != "lead":
            levels[role] += TASTE_DB.get(role, 0.0) - lead
    return Engineer(
        "taste",
        role_levels_db=levels,
        song_jitter_db=0.0,
        band_offset_db=(0.0, 0.0),
        ride_s=1.5,
    )


def engineer_faders(folder: Path) -> np.ndarray:
    """(frames, C) the simulated engineer's fader levels (dB) for one synthetic song folder."""
    from models.data.acoustics import db
    from models.data.store import read_song_data
    from models.data.styles import STYLES

    data = read_song_data(folder)
    song = data.song
    extra = song.meta.extra
    roles = [c.role for c in song.meta.channels]
    hop = int(extra.get("hop_samples", song.sample_rate // 20))
    style = STYLES[extra["style"]].mix_offsets_db if extra.get("style") in STYLES else {}
    seed = int(song.meta.seed or 0)
    engineer = taste_engineer()
    ENGINEERS.setdefault(engineer.name, engineer)  # target_gains_db finds the rides by name
    rules = draw_rules(roles, style, np.random.default_rng([seed, 31]), engineer)
    clean = data.clean()
    sections = extra.get("sections", [])
    gains = target_gains_db(
        clean, roles, sections, rules, song.sample_rate, extra.get("soloist"), hop
    )
    raw_dbfs = float(db(np.sqrt(np.mean(song.audio.sum(axis=0, dtype=np.float64) ** 2))))
    _, gains32 = make_target(clean, gains, hop, rms_dbfs=raw_dbfs)
    stage = extra.get("stage") or {}
    staging = np.asarray(stage.get("staging_db") or 0.0, np.float32)
    trims = np.asarray(stage.get("post_trims_db", 0.0), np.float32) + staging
    faders = gains32 - trims - float(stage.get("input_gain_db", 0.0))
    return np.clip(faders, *FADER_RANGE_DB).astype(np.float64)
