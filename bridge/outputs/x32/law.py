"""The X32/M32 (and X-Air) fader law: float <-> dB in four linear segments, 1024-step storage.

Pure functions, testable against the protocol facts (PROTOCOLS.md).
"""

from __future__ import annotations

import math

import numpy as np

FADER_STEPS = 1024
"""The console stores a fader as one of 1024 positions: round(f * 1023) / 1023."""

MAX_STEP = FADER_STEPS - 1
MIN_DB = -90.0
"""At or below this level the fader is at the bottom (f = 0, shown as -inf)."""
MAX_DB = 10.0
"""Fader at the top (f = 1.0)."""

# (lowest f of the segment, dB per unit f, dB at f = 0 of the line), top segment first.
_SEGMENTS: tuple[tuple[float, float, float], ...] = (
    (0.5, 40.0, -30.0),
    (0.25, 80.0, -50.0),
    (0.0625, 160.0, -70.0),
    (0.0, 480.0, -90.0),
)


# --- fader law ---------------------------------------------------------------------------------


def fader_to_db(f: float) -> float:
    """dB for a fader float; f is clamped to 0..1 and f = 0 gives -inf."""
    if math.isnan(f):
        raise ValueError("fader value is NaN")
    f = min(max(f, 0.0), 1.0)
    if f == 0.0:
        return -math.inf
    for lowest, slope, offset in _SEGMENTS:
        if f >= lowest:
            return slope * f + offset
    raise AssertionError("unreachable: the last segment starts at 0")


def db_to_fader(db: float) -> float:
    """Fader float 0..1 for a level in dB: <= -90 dB (or -inf) gives 0.0, >= +10 dB gives 1.0."""
    if math.isnan(db):
        raise ValueError("level is NaN")
    if db <= MIN_DB:
        return 0.0
    if db >= MAX_DB:
        return 1.0
    for lowest, slope, offset in _SEGMENTS:
        if db >= slope * lowest + offset:
            return (db - offset) / slope
    raise AssertionError("unreachable: the last segment starts at -90 dB")


def fader_to_db_array(f: np.ndarray) -> np.ndarray:
    """Vectorised `fader_to_db` (float64 result, -inf where f <= 0)."""
    f = np.clip(np.asarray(f, dtype=np.float64), 0.0, 1.0)
    conditions = [f >= lowest for lowest, _, _ in _SEGMENTS]
    values = [slope * f + offset for _, slope, offset in _SEGMENTS]
    out = np.select(conditions, values)
    return np.where(f <= 0.0, -np.inf, out)


def db_to_fader_array(db: np.ndarray) -> np.ndarray:
    """Vectorised `db_to_fader` (NaN stays NaN; callers decide what a missing level means)."""
    db = np.asarray(db, dtype=np.float64)
    conditions = [db >= slope * lowest + offset for lowest, slope, offset in _SEGMENTS]
    with np.errstate(invalid="ignore"):
        values = [(db - offset) / slope for _, slope, offset in _SEGMENTS]
        out = np.select(conditions, values, default=0.0)
    out = np.clip(out, 0.0, 1.0)
    return np.where(np.isnan(db), np.nan, out)


def fader_step(f: float) -> int:
    """The console's step index 0..1023 for a fader float (clamped to 0..1)."""
    return round(min(max(f, 0.0), 1.0) * MAX_STEP)


def step_to_fader(step: int) -> float:
    """Fader float for a step index 0..1023."""
    if not 0 <= step <= MAX_STEP:
        raise ValueError(f"fader step must be 0..{MAX_STEP}, got {step}")
    return step / MAX_STEP


def quantize(f: float) -> float:
    """The value the console actually stores for a fader float."""
    return fader_step(f) / MAX_STEP
