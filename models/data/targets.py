"""Engineer-like target mixes: the rules table, per-source target gains per 50 ms frame, the mix.

Gains follow the bridge's direct-mix convention (bridge/mixdown.py): the gain of frame t is
reached on the last sample of frame t, ramped linearly (in linear gain) from frame t-1's; before
frame 0 the gain is frame 0's. models/data/README.md documents the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.data.acoustics import active_rms, db

HOP_SECONDS = 0.05
MIX_PEAK_DBFS = -1.0
GAIN_FLOOR_DB = -80.0

# The rules table (models/data/README.md): level of each role relative to the lead vocal, in dB
# of active RMS, before the per-style offsets and the per-song variation.
ROLE_LEVELS_DB: dict[str, float] = {
    "lead": 0.0,
    "kick": -4.0,
    "snare": -6.0,
    "drums": -12.0,
    "bass": -5.0,
    "rhythm": -9.0,
    "keys": -10.0,
    "pad": -15.0,
    "strings": -13.0,
    "brass": -10.0,
    "solo": -7.0,
    "other": -10.0,
}
SONG_JITTER_DB = 1.5
"""Per-song, per-channel taste: normal, this standard deviation, clipped to +-2 sd."""
BAND_OFFSET_DB = (-2.0, 2.0)
"""Per song: the whole band against the lead."""
SOLO_RIDE_DB = (3.0, 6.0)
CHORUS_LIFT_DB = (0.0, 2.0)
"""Rhythm, keys, brass and strings come up in the chorus."""
INTRO_LIFT_DB = 2.0
"""Keys and pad carry the intro."""
LEAD_RIDE_DEPTH = (0.3, 0.7)
"""Share of the lead's phrase-level deviation the engineer rides out."""
LEAD_RIDE_MAX_DB = 4.0
RIDE_S = 0.75
"""How long a hand move takes; section rides start 0.25 s before the section."""
FADE_PROBABILITY = 0.5
FADE_S = (3.0, 6.0)
FADE_DEPTH_DB = 40.0
CHORUS_ROLES = ("rhythm", "keys", "brass", "strings")
INTRO_ROLES = ("keys", "pad")


@dataclass(frozen=True)
class Engineer:
    """One engineer's taste: the rules table and the rides (models/data/README.md, section 4)."""

    name: str
    role_levels_db: dict[str, float] = field(default_factory=lambda: dict(ROLE_LEVELS_DB))
    style_offset_scale: float = 1.0
    """How much of each style's per-role offsets this engineer applies."""
    song_jitter_db: float = SONG_JITTER_DB
    band_offset_db: tuple[float, float] = BAND_OFFSET_DB
    solo_ride_db: tuple[float, float] = SOLO_RIDE_DB
    chorus_lift_db: tuple[float, float] = CHORUS_LIFT_DB
    chorus_roles: tuple[str, ...] = CHORUS_ROLES
    intro_lift_db: float = INTRO_LIFT_DB
    intro_roles: tuple[str, ...] = INTRO_ROLES
    lead_ride_depth: tuple[float, float] = LEAD_RIDE_DEPTH
    lead_ride_max_db: float = LEAD_RIDE_MAX_DB
    ride_s: float = RIDE_S
    fade_probability: float = FADE_PROBABILITY
    fade_s: tuple[float, float] = FADE_S


FIRST_ENGINEER = Engineer("first")
"""The rules table above: the training, validation and test splits."""
SECOND_LEVELS_DB = {
    "lead": 0.0, "kick": -7.0, "snare": -4.0, "drums": -8.0, "bass": -3.0, "rhythm": -7.0,
    "keys": -12.0, "pad": -11.0, "strings": -10.0, "brass": -13.0, "solo": -5.0, "other": -8.0,
}  # fmt: skip
SECOND_ENGINEER = Engineer(
    "second",
    role_levels_db=SECOND_LEVELS_DB,
    style_offset_scale=0.5,
    song_jitter_db=2.0,
    band_offset_db=(-1.0, 3.0),
    solo_ride_db=(1.0, 3.0),
    chorus_lift_db=(2.0, 4.0),
    chorus_roles=("drums", "rhythm", "keys", "pad", "strings", "brass"),
    intro_lift_db=3.0,
    intro_roles=("rhythm", "keys"),
    lead_ride_depth=(0.6, 0.9),
    lead_ride_max_db=6.0,
    ride_s=1.5,
    fade_probability=0.25,
    fade_s=(6.0, 10.0),
)
"""A second engineer, only for the held-out-sounds split: a louder band, bass and snare up,
kick, keys and brass down, bigger chorus lifts (drums too), small solo rides, a deeper and
slower hand on the lead, fewer and longer fade-outs."""
ENGINEERS = {e.name: e for e in (FIRST_ENGINEER, SECOND_ENGINEER)}


@dataclass
class TargetRules:
    """The drawn rules of one song (stored in song.json as `target_rules`)."""

    levels_db: list[float]
    """Static level of each source relative to the lead."""
    solo_ride_db: float
    chorus_lift_db: float
    lead_ride_depth: float
    fade_s: float
    """0: no fade-out."""
    engineer: str = "first"

    def to_json(self) -> dict[str, Any]:
        return {
            "engineer": self.engineer,
            "levels_db": [round(v, 2) for v in self.levels_db],
            "solo_ride_db": round(self.solo_ride_db, 2),
            "chorus_lift_db": round(self.chorus_lift_db, 2),
            "lead_ride_depth": round(self.lead_ride_depth, 3),
            "fade_s": round(self.fade_s, 2),
        }


def draw_rules(
    roles: Sequence[str],
    style_offsets_db: dict[str, float],
    rng: np.random.Generator,
    engineer: Engineer = FIRST_ENGINEER,
) -> TargetRules:
    e = engineer
    band = float(rng.uniform(*e.band_offset_db))
    levels = []
    for role in roles:
        jitter = float(
            np.clip(rng.normal(0.0, e.song_jitter_db), -2 * e.song_jitter_db, 2 * e.song_jitter_db)
        )
        level = e.role_levels_db.get(role, e.role_levels_db["other"])
        level += e.style_offset_scale * style_offsets_db.get(role, 0.0)
        levels.append(0.0 if role == "lead" else level + band + jitter)
    fade = float(rng.uniform(*e.fade_s)) if rng.random() < e.fade_probability else 0.0
    return TargetRules(
        levels_db=levels,
        solo_ride_db=float(rng.uniform(*e.solo_ride_db)),
        chorus_lift_db=float(rng.uniform(*e.chorus_lift_db)),
        lead_ride_depth=float(rng.uniform(*e.lead_ride_depth)),
        fade_s=fade,
        engineer=e.name,
    )


def frame_times(n_samples: int, sample_rate: int, hop: int) -> np.ndarray:
    """Time (s) at which each frame's gain is reached: its last sample."""
    n_frames = -(-n_samples // hop)
    return (np.arange(n_frames) * hop + hop - 1) / sample_rate


def _window(t: np.ndarray, start: float, end: float, ramp: float = RIDE_S) -> np.ndarray:
    """0..1: up over `ramp` from start - ramp/3, down over `ramp` from end - ramp/3."""
    up = np.clip((t - (start - ramp / 3)) / ramp, 0.0, 1.0)
    down = np.clip(1.0 - (t - (end - ramp / 3)) / ramp, 0.0, 1.0)
    return np.minimum(up, down)


def _lead_ride(
    lead: np.ndarray, hop: int, depth: float, n_frames: int, max_db: float = LEAD_RIDE_MAX_DB
) -> np.ndarray:
    """The vocal ride: pull loud phrases down and lift quiet ones, with a slow hand."""
    frames = np.zeros(n_frames)
    n = min(len(lead) // hop, n_frames)
    power = np.mean(lead[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)
    # Phrase level: 400 ms moving average of the power.
    level = db(np.sqrt(np.convolve(power, np.ones(8) / 8, mode="same")))
    active = level > level.max() - 30.0
    if not active.any():
        return frames
    dev = np.where(active, level - np.median(level[active]), 0.0)
    ride = np.clip(-depth * dev, -max_db, max_db)
    held = np.zeros(n)
    cur = 0.0
    alpha = 1.0 - np.exp(-HOP_SECONDS / 0.3)  # one-pole, 0.3 s: a hand, not a compressor
    for i in range(n):
        if active[i]:
            cur += alpha * (ride[i] - cur)
        held[i] = cur
    frames[:n] = held
    frames[n:] = cur
    return frames


def target_gains_db(
    sources: np.ndarray,
    roles: Sequence[str],
    sections: Sequence[dict[str, Any]],
    rules: TargetRules,
    sample_rate: int,
    soloist: int | None = None,
    hop: int | None = None,
) -> np.ndarray:
    """Per-source target gains in dB, (frames, sources), before the mix-peak normalisation.

    sources: (S, n) dry; the static part puts each source's active RMS at its rule level.
    """
    hop = hop or round(HOP_SECONDS * sample_rate)
    e = ENGINEERS[rules.engineer]
    n_src, n = sources.shape
    t = frame_times(n, sample_rate, hop)
    gains = np.zeros((len(t), n_src))
    for s in range(n_src):
        gains[:, s] = rules.levels_db[s] - float(db(active_rms(sources[s])))
    for sec in sections:
        w = _window(t, sec["start_s"], sec["end_s"], e.ride_s)
        for s, role in enumerate(roles):
            if sec["name"] == "solo" and s == soloist:
                gains[:, s] += rules.solo_ride_db * w
            elif sec["name"] == "chorus" and role in e.chorus_roles:
                gains[:, s] += rules.chorus_lift_db * w
            elif sec["name"] == "intro" and role in e.intro_roles:
                gains[:, s] += e.intro_lift_db * w
    for s, role in enumerate(roles):
        if role == "lead":
            gains[:, s] += _lead_ride(
                sources[s], hop, rules.lead_ride_depth, len(t), e.lead_ride_max_db
            )
    if rules.fade_s > 0:
        end = n / sample_rate
        start = end - rules.fade_s
        gains -= FADE_DEPTH_DB * np.clip((t - start) / rules.fade_s, 0.0, 1.0)[:, None]
    return gains


def gain_curve(gains_db: np.ndarray, n_samples: int, hop: int) -> np.ndarray:
    """Per-sample linear gains (K, n_samples) from per-frame dB gains (frames, K).

    Frame t's gain is reached on its last sample, ramped linearly from frame t-1's, exactly as
    bridge.mixdown.DirectMixer applies gains; frame 0 starts flat.
    """
    lin = 10 ** (np.asarray(gains_db, dtype=np.float64) / 20)  # (frames, K)
    prev = np.vstack([lin[:1], lin[:-1]])
    ramp = np.arange(1, hop + 1, dtype=np.float64) / hop  # (hop,)
    curve = prev[:, :, None] + (lin - prev)[:, :, None] * ramp  # (frames, K, hop)
    curve = curve.transpose(1, 0, 2).reshape(lin.shape[1], -1)  # (K, frames * hop)
    return curve[:, :n_samples]


def apply_gains(audio: np.ndarray, gains_db: np.ndarray, hop: int) -> np.ndarray:
    """audio (K, n) with per-frame gains (frames, K) -> mono mix (n,) float64."""
    return np.sum(audio * gain_curve(gains_db, audio.shape[1], hop), axis=0)


def level_shift_db(mix: np.ndarray, rms_dbfs: float, peak_dbfs: float = MIX_PEAK_DBFS) -> float:
    """The gain (dB) that brings a mix to rms_dbfs RMS, less if its peak would pass peak_dbfs."""
    peak = float(db(np.max(np.abs(mix))))
    level = float(db(np.sqrt(np.mean(np.square(mix, dtype=np.float64)))))
    return min(rms_dbfs - level, peak_dbfs - peak)


def make_target(
    sources: np.ndarray,
    gains_db: np.ndarray,
    hop: int,
    rms_dbfs: float | None = None,
    peak_dbfs: float = MIX_PEAK_DBFS,
) -> tuple[np.ndarray, np.ndarray]:
    """The target mix (n,) float32 and its gains (frames, S), the overall level folded in.

    The level: rms_dbfs RMS (the data engine passes the RMS of the channels' unity sum, so
    oracle gains centre near 0 dB) but never a peak above peak_dbfs; None: peak at peak_dbfs.
    """
    mix = apply_gains(sources, gains_db, hop)
    if rms_dbfs is None:
        shift = peak_dbfs - float(db(np.max(np.abs(mix))))
    else:
        shift = level_shift_db(mix, rms_dbfs, peak_dbfs)
    gains = np.maximum(gains_db + shift, GAIN_FLOOR_DB).astype(np.float32)
    return apply_gains(sources, gains, hop).astype(np.float32), gains
