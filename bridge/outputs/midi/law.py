"""Fader laws for MIDI outputs: dB <-> controller value, as a mapping profile defines it.

A law maps a level in dB to a fraction of the controller's range (0..1), so one law serves 7-bit
CC (0..127), 14-bit CC pairs and Mackie faders (0..16383). Mackie Control does not fix a law:
the host does (REAPER uses its own fader curve), so a profile states it, measured if need be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

LAW_KINDS = ("linear_db", "table")


class LawError(ValueError):
    """A law that cannot be built; `field` names the bad entry inside the [law] table."""

    def __init__(self, fld: str, message: str) -> None:
        super().__init__(message)
        self.field = fld


@dataclass(frozen=True)
class LinearDbLaw:
    """Linear in dB: value 0 is `floor_db`, full scale is `ceiling_db`."""

    floor_db: float
    ceiling_db: float
    kind: str = field(default="linear_db", init=False)
    """A field, so the law is written back to a profile with its kind."""

    def to_fraction(self, db: float) -> float:
        """0..1 for a level (clamped; -inf gives 0)."""
        if math.isnan(db):
            raise ValueError("level is NaN")
        x = (db - self.floor_db) / (self.ceiling_db - self.floor_db)
        return min(max(x, 0.0), 1.0)

    def from_fraction(self, x: float) -> float:
        x = min(max(x, 0.0), 1.0)
        return self.floor_db + x * (self.ceiling_db - self.floor_db)


@dataclass(frozen=True)
class TableLaw:
    """Piecewise linear through (fraction, dB) points, both strictly increasing."""

    points: tuple[tuple[float, float], ...]
    kind: str = field(default="table", init=False)

    def to_fraction(self, db: float) -> float:
        if math.isnan(db):
            raise ValueError("level is NaN")
        pts = self.points
        if db <= pts[0][1]:
            return pts[0][0]
        for (f0, d0), (f1, d1) in pairwise(pts):
            if db <= d1:
                return f0 + (db - d0) * (f1 - f0) / (d1 - d0)
        return pts[-1][0]

    def from_fraction(self, x: float) -> float:
        pts = self.points
        if x <= pts[0][0]:
            return pts[0][1]
        for (f0, d0), (f1, d1) in pairwise(pts):
            if x <= f1:
                return d0 + (x - f0) * (d1 - d0) / (f1 - f0)
        return pts[-1][1]


FaderLaw = LinearDbLaw | TableLaw


def db_to_value(law: FaderLaw, db: float, max_value: int) -> int:
    """Controller value 0..max_value for a level."""
    return round(law.to_fraction(db) * max_value)


def value_to_db(law: FaderLaw, value: int, max_value: int) -> float:
    """Level for a controller value 0..max_value (clamped)."""
    return law.from_fraction(min(max(value, 0), max_value) / max_value)


def _finite(fld: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LawError(fld, f"must be a finite number, got {value!r}")
    return float(value)


def make_law(data: Mapping[str, Any]) -> FaderLaw:
    """A law from a profile's [law] table; LawError names the field and what is allowed.

    kind = "linear_db" with floor_db < ceiling_db, or kind = "table" with
    points = [[fraction, dB], ...]: at least two, fractions from 0 to 1, both increasing.
    """
    kind = data.get("kind")
    if kind not in LAW_KINDS:
        raise LawError("kind", f"must be one of {list(LAW_KINDS)}, got {kind!r}")
    if kind == "linear_db":
        unknown = set(data) - {"kind", "floor_db", "ceiling_db"}
        if unknown:
            raise LawError(sorted(unknown)[0], "unknown field; allowed: ceiling_db, floor_db, kind")
        floor = _finite("floor_db", data.get("floor_db", -60.0))
        ceiling = _finite("ceiling_db", data.get("ceiling_db", 10.0))
        if not floor < ceiling:
            raise LawError("floor_db", f"floor {floor} must be below ceiling {ceiling}")
        return LinearDbLaw(floor, ceiling)
    unknown = set(data) - {"kind", "points"}
    if unknown:
        raise LawError(sorted(unknown)[0], "unknown field; allowed: kind, points")
    raw = data.get("points")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) < 2:
        raise LawError("points", "must be a list of at least two [fraction, dB] pairs")
    points: list[tuple[float, float]] = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise LawError(f"points[{i}]", f"must be a [fraction, dB] pair, got {pair!r}")
        frac = _finite(f"points[{i}]", pair[0])
        db = _finite(f"points[{i}]", pair[1])
        if not 0.0 <= frac <= 1.0:
            raise LawError(f"points[{i}]", f"fraction must be from 0 to 1, got {frac}")
        if points and not (frac > points[-1][0] and db > points[-1][1]):
            raise LawError(f"points[{i}]", "fractions and dB must both increase")
        points.append((frac, db))
    return TableLaw(tuple(points))
