"""The ceilings a gain mixer can reach on a song, beside the data engine's per-frame oracle.

- STATIC: one gain per channel for the whole song, optimised for MR-STFT (the metric "gap
  closed" is measured on) by gradient descent in torch, started from the least-squares static
  gains. The channels' STFTs are linear in the gains, so each channel's STFT is taken once
  (on a fixed subset of frames) and every step only mixes spectra: the cost is bounded by
  STATIC_STEPS and STATIC_FRAMES, not by the song's length.
- SLEW: per-frame gains that move at most the product's fader speed (bridge.config SAFETY
  slew, 24 dB/s: 1.2 dB per 50 ms frame), within the model's range, minimising the same
  waveform error as the per-frame oracle (models/data/oracle.py), applied with the same ramps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bridge.config import SAFETY
from models.eval.metrics import AURALOSS_EPS, GAIN_RANGE_DB

STATIC_STEPS = 40
STATIC_FRAMES = 200
"""STFT frames per resolution the static oracle is optimised on (evenly spread)."""
SLEW_STEPS = 200


def _resolutions(rate: int) -> list[tuple[int, int, int]]:
    from models.train.losses import mrstft_sizes

    return list(zip(*mrstft_sizes(rate), strict=True))


def _spectra(x: torch.Tensor, fft: int, hop: int, win: int) -> torch.Tensor:
    """(B, n) -> (B, bins, frames) complex, as auraloss's STFTLoss takes them."""
    return torch.stft(x, fft, hop, win, torch.hann_window(win, dtype=x.dtype), return_complex=True)


def static_oracle(
    channels: np.ndarray, target: np.ndarray, rate: int, start_db: np.ndarray | None = None
) -> np.ndarray:
    """(C,) dB: static channel gains minimising MR-STFT (auraloss's spectral convergence + log
    magnitude, the paper's resolutions) between the mix and the target."""
    c_count = channels.shape[0]
    x = torch.from_numpy(np.asarray(channels, dtype=np.float32))
    y = torch.from_numpy(np.asarray(target, dtype=np.float32))[None]
    specs = []
    with torch.no_grad():
        for fft, hop, win in _resolutions(rate):
            sy = _spectra(y, fft, hop, win)
            keep = torch.linspace(0, sy.shape[-1] - 1, min(STATIC_FRAMES, sy.shape[-1])).long()
            sx = torch.stack([_spectra(x[c : c + 1], fft, hop, win)[0][:, keep]
                              for c in range(c_count)])  # fmt: skip
            parts = torch.stack([sx.real, sx.imag], dim=1).reshape(c_count, -1)  # (C, 2 F T)
            my = torch.sqrt((sy[0][:, keep].abs() ** 2).clamp_min(AURALOSS_EPS)).reshape(-1)
            specs.append((parts, my))
    lo, hi = GAIN_RANGE_DB
    init = np.zeros(c_count) if start_db is None else np.clip(start_db, lo, hi)
    gains_db = torch.tensor(init, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([gains_db], lr=0.5)

    def loss() -> torch.Tensor:
        g = 10.0 ** (gains_db.clamp(lo, hi) / 20.0)
        total = torch.zeros(())
        for parts, my in specs:
            mix = (g @ parts).reshape(2, -1)
            mm = torch.sqrt((mix[0] ** 2 + mix[1] ** 2).clamp_min(AURALOSS_EPS))
            sc = torch.linalg.norm(my - mm) / torch.linalg.norm(my)
            total = total + sc + torch.mean(torch.abs(torch.log(my) - torch.log(mm)))
        return total / len(specs)

    best = minimise_keep_best(gains_db, opt, loss, STATIC_STEPS)
    return best.clamp(lo, hi).numpy().astype(np.float64)


def minimise_keep_best(
    x: torch.Tensor, opt: torch.optim.Optimizer, loss: Callable[[], torch.Tensor], steps: int
) -> torch.Tensor:
    """`steps` optimiser steps on `loss`; the value of `x` at the lowest loss seen."""
    best, best_loss = x.detach().clone(), float("inf")
    for _ in range(steps):
        opt.zero_grad()
        value = loss()
        if value.item() < best_loss:
            best, best_loss = x.detach().clone(), value.item()
        value.backward()
        opt.step()
    return best


def slew_step_db(hop_s: float) -> float:
    """The largest fader move between 50 ms frames the product allows."""
    return SAFETY.slew_db_per_s * hop_s


def _limit(path_db: np.ndarray, step: float) -> np.ndarray:
    """A causal slew limiter: each row moves at most `step` dB from the one before."""
    out = np.empty_like(path_db)
    out[0] = path_db[0]
    for t in range(1, len(path_db)):
        out[t] = out[t - 1] + np.clip(path_db[t] - out[t - 1], -step, step)
    return out


def slew_oracle(
    channels: np.ndarray, target: np.ndarray, hop: int, rate: int, start_db: np.ndarray
) -> np.ndarray:
    """(frames, C) dB: per-frame gains within GAIN_RANGE_DB moving at most slew_step_db per
    frame, minimising the waveform error of the ramped mix; start_db (frames, C): where to
    start (the per-frame oracle, slew-limited)."""
    from models.data.oracle import _frame_grams

    lo, hi = GAIN_RANGE_DB
    step = slew_step_db(hop / rate)
    big_p, big_q, big_r, p, r = (torch.from_numpy(a) for a in _frame_grams(channels, target, hop))
    scale = float(np.sum(np.asarray(target, np.float64) ** 2)) + 1e-30
    frames = p.shape[0]
    start = _limit(np.clip(np.asarray(start_db, np.float64)[:frames], lo, hi), step)
    x0 = torch.tensor(start[0] / 10.0, requires_grad=True)
    ratio = np.clip(np.diff(start, axis=0) / step, -0.999, 0.999)
    u = torch.tensor(np.arctanh(ratio), requires_grad=True)
    opt = torch.optim.Adam([x0, u], lr=0.05)

    def path() -> torch.Tensor:
        moves = step * torch.tanh(u)
        x = 10.0 * x0 + torch.cat([torch.zeros(1, x0.shape[0], dtype=u.dtype),
                                   torch.cumsum(moves, dim=0)])  # fmt: skip
        return x.clamp(lo, hi)

    def loss() -> torch.Tensor:
        g = 10.0 ** (path() / 20.0)  # (frames, C)
        prev = torch.cat([g[:1], g[:-1]])
        quad = (
            torch.einsum("ti,tij,tj->", prev, big_p, prev)
            + 2 * torch.einsum("ti,tij,tj->", prev, big_q, g)
            + torch.einsum("ti,tij,tj->", g, big_r, g)
        )
        lin = torch.sum(p * prev) + torch.sum(r * g)
        return (quad - 2 * lin) / scale

    best, best_loss = path().detach().clone(), float("inf")
    for _ in range(SLEW_STEPS):
        opt.zero_grad()
        value = loss()
        if value.item() < best_loss:
            best, best_loss = path().detach().clone(), value.item()
        value.backward()
        opt.step()
    return best.numpy()
