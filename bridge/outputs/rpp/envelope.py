"""Gain automation as REAPER envelope points: simplification within a dB tolerance, and the
`<VOLENV2` / `<TRACK` / `<ITEM` chunks built with the `rpp` package (all values are strings).

REAPER volume envelopes hold linear amplitude (1.0 = 0 dB, at most 2.0), and shape 0 points are
joined linearly in that amplitude; the simplification measures its error the same way, in dB.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from rpp import Element

MAX_AMPLITUDE = 2.0
"""REAPER's volume envelope ceiling (+6.02 dB)."""
FLOOR_DB = -150.0
"""Levels below this are written as this (REAPER shows -inf); keeps the dB error finite."""
TOLERANCE_DB = 0.1


def db_to_amplitude(db: np.ndarray) -> np.ndarray:
    """Linear amplitude for levels in dB, clipped to REAPER's envelope range."""
    db = np.maximum(np.asarray(db, dtype=np.float64), FLOOR_DB)
    return np.minimum(10.0 ** (db / 20.0), MAX_AMPLITUDE)


def amplitude_to_db(amp: np.ndarray) -> np.ndarray:
    amp = np.maximum(np.asarray(amp, dtype=np.float64), 10.0 ** (FLOOR_DB / 20.0))
    return 20.0 * np.log10(amp)


def simplify(
    times: np.ndarray, gains_db: np.ndarray, tolerance_db: float = TOLERANCE_DB
) -> np.ndarray:
    """Indices of the points to keep so that REAPER's linear interpolation (in amplitude) stays
    within `tolerance_db` of every original point: Ramer-Douglas-Peucker, vertical error in dB.

    times: (n,) increasing seconds; gains_db: (n,). The first and last points are always kept.
    """
    times = np.asarray(times, dtype=np.float64)
    n = len(times)
    if n <= 2:
        return np.arange(n)
    amp = db_to_amplitude(gains_db)
    target = amplitude_to_db(amp)  # what REAPER can represent at all
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        t = times[lo + 1 : hi]
        frac = (t - times[lo]) / (times[hi] - times[lo])
        line = amp[lo] + frac * (amp[hi] - amp[lo])  # (hi - lo - 1,)
        err = np.abs(amplitude_to_db(line) - target[lo + 1 : hi])
        worst = int(np.argmax(err))
        if err[worst] > tolerance_db:
            mid = lo + 1 + worst
            keep[mid] = True
            stack += [(lo, mid), (mid, hi)]
    return np.flatnonzero(keep)


def _num(x: float) -> str:
    """REAPER-style number: up to 10 significant digits, no exponent for our ranges."""
    text = f"{x:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def new_guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def volume_envelope(
    times: np.ndarray, gains_db: np.ndarray, tolerance_db: float = TOLERANCE_DB
) -> Element:
    """A `<VOLENV2` chunk with the simplified points (shape 0 = linear); times (n,), gains (n,)."""
    keep = simplify(times, gains_db, tolerance_db)
    amp = db_to_amplitude(np.asarray(gains_db)[keep])
    env = Element(
        "VOLENV2",
        (),
        [
            ["EGUID", new_guid()],
            ["ACT", "1", "-1"],
            ["VIS", "1", "1", "1"],
            ["LANEHEIGHT", "0", "0"],
            ["ARM", "1"],
            ["DEFSHAPE", "0", "-1", "-1"],
        ],
    )
    for t, a in zip(np.asarray(times)[keep], amp, strict=True):
        env.append(["PT", _num(float(t)), _num(float(a)), "0"])
    return env


def source_item(path: Path, length_s: float) -> Element:
    """An `<ITEM` at time 0 playing an audio file (WAVE or FLAC source)."""
    kind = "FLAC" if path.suffix.lower() == ".flac" else "WAVE"
    return Element(
        "ITEM",
        (),
        [
            ["POSITION", "0"],
            ["LENGTH", _num(length_s)],
            ["NAME", path.name],
            Element("SOURCE", (kind,), [["FILE", str(path)]]),
        ],
    )


def new_track(name: str, envelope: Element, item: Element | None = None) -> Element:
    """A `<TRACK` in automation read mode (AUTOMODE 1) holding the envelope."""
    track = Element(
        "TRACK",
        (new_guid(),),
        [["NAME", name], ["AUTOMODE", "1"], ["VOLPAN", "1", "0", "-1", "-1", "1"], envelope],
    )
    if item is not None:
        track.append(item)
    return track


def envelope_points(env: Element) -> tuple[np.ndarray, np.ndarray]:
    """(times, dB) of the PT lines of a parsed `<VOLENV2` (for checks and round trips)."""
    rows = [row for row in env if isinstance(row, list) and row and row[0] == "PT"]
    times = np.array([float(r[1]) for r in rows])
    return times, amplitude_to_db(np.array([float(r[2]) for r in rows]))
