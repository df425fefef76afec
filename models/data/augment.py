"""Timbre augmentations an engineer meets on stage: EQ tilt, compression, amp saturation, small
pitch and timing changes. Drawn per part from the song's seed; each keeps the part's level.

The pitch change is applied while rendering (MIDI fine tuning for soundfonts, resampled hits for
drum kits); the others act on the rendered dry part. After the chain the part is scaled back to
its dry active RMS exactly, so the levels the stage and the rules table see do not move
(models/data/README.md, "Augmentations").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.data.acoustics import active_rms

TILT_DB = 6.0
"""EQ tilt: uniform +-this many dB from 100 Hz to 10 kHz (shelves at 1 kHz)."""
COMP_PROBABILITY = 0.6
COMP_RATIO = (1.5, 6.0)
COMP_THRESHOLD_DB = (-6.0, 6.0)
"""Compressor threshold relative to the part's active RMS."""
SATURATION_PROBABILITY = {"rhythm": 0.6, "solo": 0.5, "bass": 0.4, "keys": 0.3, "lead": 0.2}
SATURATION_OTHER = 0.1
DRIVE_DB = (0.0, 18.0)
DETUNE_CENTS = 15.0
"""Melodic parts: +-this much (an instrument slightly off the band's tuning)."""
KIT_TUNING_CENTS = 100.0
"""The drum kit (all drum parts together): +-this much (how the drummer tuned it)."""
SHIFT_MS = 8.0
"""Timing: each part (the kit as one) +-this much late or early against the grid."""
DRUM_ROLES = ("kick", "snare", "drums")


@dataclass(frozen=True)
class Augment:
    tilt_db: float = 0.0
    comp_ratio: float = 1.0
    """1: no compression."""
    comp_threshold_db: float = 0.0
    drive_db: float | None = None
    """None: no saturation."""
    detune_cents: float = 0.0
    shift_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "tilt_db": round(self.tilt_db, 2),
            "comp_ratio": round(self.comp_ratio, 2),
            "comp_threshold_db": round(self.comp_threshold_db, 2),
            "drive_db": None if self.drive_db is None else round(self.drive_db, 2),
            "detune_cents": round(self.detune_cents, 1),
            "shift_ms": round(self.shift_ms, 2),
        }


def draw_augments(roles: Sequence[str], rng: np.random.Generator) -> list[Augment]:
    """One Augment per part; the drum parts share the kit's tuning and timing."""
    kit_cents = float(rng.uniform(-KIT_TUNING_CENTS, KIT_TUNING_CENTS))
    kit_shift = float(rng.uniform(-SHIFT_MS, SHIFT_MS))
    out = []
    for role in roles:
        tilt = float(rng.uniform(-TILT_DB, TILT_DB))
        comp = rng.random() < COMP_PROBABILITY
        ratio = float(rng.uniform(*COMP_RATIO)) if comp else 1.0
        threshold = float(rng.uniform(*COMP_THRESHOLD_DB)) if comp else 0.0
        sat = rng.random() < SATURATION_PROBABILITY.get(role, SATURATION_OTHER)
        drive = float(rng.uniform(*DRIVE_DB)) if sat else None
        cents = float(rng.uniform(-DETUNE_CENTS, DETUNE_CENTS))
        shift = float(rng.uniform(-SHIFT_MS, SHIFT_MS))
        if role in DRUM_ROLES:
            cents, shift = kit_cents, kit_shift
        out.append(Augment(tilt, ratio, threshold, drive, cents, shift))
    return out


def _shelf(x: np.ndarray, gain_db: float, f0: float, rate: int, high: bool) -> np.ndarray:
    """RBJ cookbook shelving biquad (slope 1)."""
    from scipy.signal import lfilter

    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / rate
    cos, alpha = np.cos(w0), np.sin(w0) / 2 * np.sqrt(2)
    sa = 2 * np.sqrt(a) * alpha
    sign = 1.0 if high else -1.0
    b = np.array([
        a * ((a + 1) + sign * (a - 1) * cos + sa),
        -sign * 2 * a * ((a - 1) + sign * (a + 1) * cos),
        a * ((a + 1) + sign * (a - 1) * cos - sa),
    ])  # fmt: skip
    den = np.array([
        (a + 1) - sign * (a - 1) * cos + sa,
        sign * 2 * ((a - 1) - sign * (a + 1) * cos),
        (a + 1) - sign * (a - 1) * cos - sa,
    ])  # fmt: skip
    return np.asarray(lfilter(b / den[0], den / den[0], x))


def tilt(x: np.ndarray, tilt_db: float, rate: int) -> np.ndarray:
    """Lows down and highs up by tilt_db/2 each (negative: darker)."""
    if abs(tilt_db) < 1e-6:
        return x
    y = _shelf(x.astype(np.float64), tilt_db / 2, 1000.0, rate, high=True)
    return _shelf(y, -tilt_db / 2, 1000.0, rate, high=False)


def compress(x: np.ndarray, threshold_db: float, ratio: float, rate: int) -> np.ndarray:
    """Feed-forward compressor on 2.5 ms blocks: attack 5 ms, release 80 ms, soft knee-less."""
    if ratio <= 1.0:
        return x
    block = max(1, round(0.0025 * rate))
    n = len(x) // block * block
    if n == 0:
        return x
    env = np.sqrt(np.mean(x[:n].reshape(-1, block).astype(np.float64) ** 2, axis=1) + 1e-20)
    thr = active_rms(x) * 10 ** (threshold_db / 20)
    over = 20 * np.log10(np.maximum(env / thr, 1e-10))
    want = -np.maximum(over, 0.0) * (1 - 1 / ratio)  # gain reduction in dB per block
    att, rel = 1 - np.exp(-0.0025 / 0.005), 1 - np.exp(-0.0025 / 0.08)
    gr = np.empty_like(want)
    cur = 0.0
    for i, w in enumerate(want):
        cur += (att if w < cur else rel) * (w - cur)
        gr[i] = cur
    centres = (np.arange(len(gr)) + 0.5) * block
    gain = 10 ** (np.interp(np.arange(len(x)), centres, gr) / 20)
    return x * gain


def saturate(x: np.ndarray, drive_db: float) -> np.ndarray:
    """An amp: asymmetric tanh, driven from the part's active RMS (0 dB: RMS at 0.25)."""
    a = 10 ** (drive_db / 20) / (4 * max(active_rms(x), 1e-9))
    bias = 0.2
    return (np.tanh(a * x + bias) - np.tanh(bias)) / a


def shift(x: np.ndarray, shift_ms: float, rate: int) -> np.ndarray:
    """Late (positive) or early by whole samples, zero-filled."""
    k = round(shift_ms / 1000 * rate)
    if k == 0:
        return x
    out = np.zeros_like(x)
    if k > 0:
        out[k:] = x[:-k]
    else:
        out[:k] = x[-k:]
    return out


def apply(x: np.ndarray, aug: Augment, rate: int) -> np.ndarray:
    """The rendered part through tilt, compressor, amp and timing, back at its active RMS."""
    level = active_rms(x)
    y = tilt(x, aug.tilt_db, rate)
    y = compress(y, aug.comp_threshold_db, aug.comp_ratio, rate)
    if aug.drive_db is not None:
        y = saturate(y, aug.drive_db)
    y = shift(np.asarray(y), aug.shift_ms, rate)
    return (y * (level / max(active_rms(y), 1e-12))).astype(np.float32)
