"""Balance: each known source's K-weighted active loudness in a produced mix minus in the target.

A gain mix of channels carries source u as `sum_c gain_c(t) * contribution[c, u]`, where
`contribution[c, u]` is source u's signal in channel c (its own channel, and its bleed into the
others). The song knows these signals exactly: synthetic songs recompute them from the dry
sources and the stage (`SongData.images()`), imported MedleyDB songs group their RAW tracks'
images by the stem they belong to. The target carries source u as a known signal too (the clean
source at its target gains; the MedleyDB stem). Nothing here is a least-squares estimate.

Loudness is ITU-R BS.1770: K-weighting (pyloudnorm's filters), 400 ms blocks with 75 % overlap,
the absolute (-70 LKFS) and relative (-10 LU) gates, measured on the source in the target. Both
levels of a source are the mean K-weighted power over those same active blocks, so a source is
compared where it plays, and silence (or a fade) does not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

BLOCK_S = 0.4
OVERLAP = 0.75
ABSOLUTE_GATE_LKFS = -70.0
RELATIVE_GATE_LU = -10.0
ERROR_RANGE_DB = 40.0
"""A source more than this far off counts as this far: 40 dB down it is out of the mix, and one
muted source must not move the mix-wide offset of all the others by hundreds of dB."""


@dataclass
class BalanceTruth:
    """The known sources of one song, in the channels and in the target."""

    names: list[str]
    roles: list[str]
    contributions: np.ndarray
    """(C, U, n) float32: source u's signal in channel c."""
    target: np.ndarray
    """(U, n) float32: source u as the target mix carries it."""

    def __post_init__(self) -> None:
        if self.contributions.shape[1:] != self.target.shape:
            raise ValueError(
                f"contributions {self.contributions.shape} do not match the target sources "
                f"{self.target.shape}"
            )


def k_weight(x: np.ndarray, rate: int) -> np.ndarray:
    """BS.1770 K-weighting (pyloudnorm's pre-filter and RLB high-pass) along the last axis."""
    import pyloudnorm

    y = np.asarray(x, dtype=np.float64)
    for f in pyloudnorm.Meter(rate)._filters.values():
        y = f.passband_gain * lfilter(f.b, f.a, y, axis=-1)
    return y


def block_powers(kw: np.ndarray, rate: int) -> np.ndarray:
    """(..., n) K-weighted signals -> (..., blocks) mean power of each 400 ms block."""
    size = round(BLOCK_S * rate)
    step = round(size * (1 - OVERLAP))
    n = kw.shape[-1]
    if n < size:
        return np.mean(kw**2, axis=-1, keepdims=True)
    starts = np.arange(0, n - size + 1, step)
    cum = np.concatenate(
        [np.zeros((*kw.shape[:-1], 1)), np.cumsum(kw.astype(np.float64) ** 2, axis=-1)], axis=-1
    )
    return (cum[..., starts + size] - cum[..., starts]) / size


def lkfs(power: np.ndarray) -> np.ndarray:
    return -0.691 + 10.0 * np.log10(np.maximum(power, 1e-30))


def active_blocks(power: np.ndarray) -> np.ndarray:
    """(blocks,) powers -> bool mask of the blocks that pass BS.1770's two gates."""
    above = lkfs(power) > ABSOLUTE_GATE_LKFS
    if not above.any():
        return above
    relative = lkfs(np.mean(power[above])) + RELATIVE_GATE_LU
    return above & (lkfs(power) > relative)


@dataclass
class TargetLevels:
    """Each source's active blocks and loudness in the target (computed once per song)."""

    masks: list[np.ndarray]
    levels: np.ndarray
    """(U,) LKFS, NaN for a source silent in the target."""


def target_levels(truth: BalanceTruth, rate: int) -> TargetLevels:
    powers = block_powers(k_weight(truth.target, rate), rate)
    masks, levels = [], []
    for p in powers:
        mask = active_blocks(p)
        masks.append(mask)
        levels.append(float(lkfs(np.mean(p[mask]))) if mask.any() else float("nan"))
    return TargetLevels(masks, np.asarray(levels))


def produced_sources(truth: BalanceTruth, curve: np.ndarray) -> np.ndarray:
    """curve (C, n) linear gains -> (U, n): each source as the produced mix carries it."""
    out = np.zeros(truth.target.shape, dtype=np.float64)
    for c in range(curve.shape[0]):
        out += truth.contributions[c] * curve[c]
    return out


def balance_errors(
    truth: BalanceTruth, levels: TargetLevels, curve: np.ndarray, rate: int
) -> np.ndarray:
    """(U,) each source's loudness in the mix minus in the target, dB, with the mix-wide offset
    (the mean over the sources that play) removed; NaN for a source silent in the target."""
    powers = block_powers(k_weight(produced_sources(truth, curve), rate), rate)
    raw = np.full(len(levels.levels), np.nan)
    for u, (p, mask) in enumerate(zip(powers, levels.masks, strict=True)):
        if mask.any():
            diff = float(lkfs(np.mean(p[mask]))) - levels.levels[u]
            raw[u] = float(np.clip(diff, -ERROR_RANGE_DB, ERROR_RANGE_DB))
    playing = np.isfinite(raw)
    if playing.any():
        raw[playing] -= float(np.mean(raw[playing]))
    return raw
