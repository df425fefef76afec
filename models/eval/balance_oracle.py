"""BALANCE-ORACLE: one gain per channel per song, optimised for the balance metric itself.

The static oracle is optimised for MR-STFT, and on our songs its balance is worse than a trained
network's: it is no ceiling for the balance columns. This one minimises what `balance.py`
measures. With static gains g, K-weighting (linear, time-invariant) commutes with the mix, so
source u's mean K-weighted power over its active blocks in the target is the quadratic form
g^T Q_u g, with Q_u[c, d] = sum_n w_u[n] k_cu[n] k_du[n] (k_cu: source u's K-weighted signal in
channel c; w_u[n]: how many of u's active blocks cover sample n, over blocks x block size). The
loss is the mean of a smoothed |error| (the median of |error| is what is reported) over the
sources that play, mix-wide offset removed, each error bounded as the metric bounds it; Adam on
the gains (dB) from the static least-squares gains. The overall level is kept at the start's
(balance does not see it).
"""

from __future__ import annotations

import numpy as np
import torch

from models.eval.balance import (
    BLOCK_S,
    ERROR_RANGE_DB,
    OVERLAP,
    BalanceTruth,
    TargetLevels,
    k_weight,
)
from models.eval.metrics import GAIN_RANGE_DB
from models.eval.oracles import minimise_keep_best

BALANCE_STEPS = 300
SMOOTH_DB = 0.1
"""|e| is taken as sqrt(e^2 + SMOOTH_DB^2) - SMOOTH_DB so Adam has a gradient at 0."""


def block_weights(mask: np.ndarray, n: int, rate: int) -> np.ndarray:
    """(n,) weight of each sample in the mean power over the active blocks of `mask`."""
    size = round(BLOCK_S * rate)
    if n < size:
        return np.full(n, 1.0 / n)
    step = round(size * (1 - OVERLAP))
    starts = np.arange(0, n - size + 1, step)[mask]
    cover = np.zeros(n + 1)
    np.add.at(cover, starts, 1.0)
    np.add.at(cover, starts + size, -1.0)
    return np.cumsum(cover)[:n] / (len(starts) * size)


def source_grams(
    truth: BalanceTruth, levels: TargetLevels, rate: int
) -> tuple[np.ndarray, list[int]]:
    """(U', C, C) the quadratic forms Q_u of the sources that play in the target, and which."""
    playing = [u for u, mask in enumerate(levels.masks) if mask.any()]
    n = truth.target.shape[1]
    grams = []
    for u in playing:
        kw = k_weight(truth.contributions[:, u], rate)  # (C, n)
        grams.append((kw * block_weights(levels.masks[u], n, rate)) @ kw.T)
    c = truth.contributions.shape[0]
    return (np.stack(grams) if grams else np.zeros((0, c, c))), playing


def balance_oracle(
    truth: BalanceTruth, levels: TargetLevels, rate: int, start_db: np.ndarray
) -> np.ndarray:
    """(C,) dB: static channel gains minimising the mean |balance error| of the song's sources."""
    lo, hi = GAIN_RANGE_DB
    start = np.clip(np.asarray(start_db, np.float64), lo, hi)
    grams, playing = source_grams(truth, levels, rate)
    if len(playing) < 2:
        return start
    q = torch.from_numpy(grams)
    want = torch.from_numpy(levels.levels[playing] + 0.691)  # lkfs = -0.691 + 10 log10(power)
    gains_db = torch.tensor(start, requires_grad=True)
    opt = torch.optim.Adam([gains_db], lr=0.3)

    def loss() -> torch.Tensor:
        g = 10.0 ** (gains_db.clamp(lo, hi) / 20.0)
        power = torch.einsum("c,ucd,d->u", g, q, g).clamp_min(1e-30)
        err = (10.0 * torch.log10(power) - want).clamp(-ERROR_RANGE_DB, ERROR_RANGE_DB)
        err = err - err.mean()
        return torch.mean(torch.sqrt(err**2 + SMOOTH_DB**2) - SMOOTH_DB)

    out = minimise_keep_best(gains_db, opt, loss, BALANCE_STEPS).numpy()
    out = out + (float(np.mean(start)) - float(np.mean(out)))
    return np.clip(out, lo, hi)
