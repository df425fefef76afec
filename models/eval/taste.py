"""Reference rows that say what a gain predictor can learn from synthetic songs at all.

A synthetic song's target comes from its engineer's rules table plus per-song random draws
(models/data/targets.py: each channel's jitter, the band's offset, the size of the rides, a
fade-out). No audio tells those draws, so even a perfect learner of the engineer's taste misses
them; and the engineer's gains apply to clean sources, so through stage bleed even the exact
gains do not reproduce the target. Three rows, as channel faders per 50 ms frame:

- **ideal-gains**: the engineer's exact gains for this song (what training aims at).
- **taste-mean**: the song's own engineer's rules with every per-song draw at its mean and no
  fade: the best a predictor that knows this engineer's table, and nothing of the song's draws,
  can do.
- **first-taste**: the same with the first engineer's table (the training splits' engineer):
  what perfectly learning the training engineer reaches on these songs. On the held-out split
  (mixed by the second engineer) the difference to taste-mean is the taste gap.

None of them judges a song in the sanity check; songs without rules (imports) get no row.
"""

from __future__ import annotations

import numpy as np

from models.data.acoustics import db
from models.data.store import SongData
from models.data.styles import STYLES
from models.data.targets import ENGINEERS, TargetRules, make_target, target_gains_db
from models.train.features import channel_ideal_db, stage_offset_db

TASTE_ROWS = ("ideal-gains", "taste-mean", "first-taste")


def mean_rules(roles: list[str], style: str, engineer: str) -> TargetRules:
    """An engineer's rules for a song with every per-song draw at its mean, no fade."""
    e = ENGINEERS[engineer]
    offsets = STYLES[style].mix_offsets_db if style in STYLES else {}
    band = float(np.mean(e.band_offset_db))
    levels = [
        0.0
        if role == "lead"
        else e.role_levels_db.get(role, e.role_levels_db["other"])
        + e.style_offset_scale * offsets.get(role, 0.0)
        + band
        for role in roles
    ]
    return TargetRules(levels_db=levels, solo_ride_db=float(np.mean(e.solo_ride_db)),
                       chorus_lift_db=float(np.mean(e.chorus_lift_db)),
                       lead_ride_depth=float(np.mean(e.lead_ride_depth)), fade_s=0.0,
                       engineer=e.name)  # fmt: skip


def taste_gains(data: SongData) -> dict[str, np.ndarray]:
    """The rows this song can have: name -> (frames, C) dB channel gains."""
    extra = data.song.meta.extra
    ideal = channel_ideal_db(data)
    rules = extra.get("target_rules") or {}
    stage = extra.get("stage") or {}
    if ideal is None or "levels_db" not in rules or rules.get("engineer") not in ENGINEERS:
        return {}
    out = {"ideal-gains": ideal}
    song = data.song
    roles = [c.role for c in song.meta.channels]
    names = song.names
    soloist = names.index(extra["soloist"]) if extra.get("soloist") in names else None
    clean = data.clean()
    # The level the data engine gives a target: the RMS of the channels' unity sum.
    raw_dbfs = float(db(np.sqrt(np.mean(song.audio.sum(axis=0, dtype=np.float64) ** 2))))
    offset = stage_offset_db(stage)
    by_engineer: dict[str, np.ndarray] = {}
    for row, engineer in (("taste-mean", rules["engineer"]), ("first-taste", "first")):
        if engineer not in by_engineer:  # a first-engineer song: both rows are one table
            mean = mean_rules(roles, str(extra.get("style", "")), engineer)
            gains = target_gains_db(clean, roles, extra.get("sections") or [], mean,
                                    song.sample_rate, soloist, data.hop)  # fmt: skip
            _, levelled = make_target(clean, gains, data.hop, rms_dbfs=raw_dbfs)
            by_engineer[engineer] = (levelled - offset)[: len(ideal)].astype(np.float32)
        out[row] = by_engineer[engineer]
    return out
