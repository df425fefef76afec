"""Loss registry: losses between a produced mix and the target mix, chosen by name.

"mrstft" is the paper's multi-resolution STFT loss (auraloss): windows of 10/20/80 ms with a
25 % hop and FFT sizes 512/1024/4096, the paper's 44.1 kHz sizes scaled to our 48 kHz.
"mrstft-floor" is the same with every STFT bin's power floored at what white noise at
FLOOR_DBFS gives: our channels carry mic self-noise (-90 to -70 dBFS) that the target mix lacks
and no gain can remove, and without a floor the log-magnitude term is dominated by those quiet
bins (on a validation song the per-frame oracle and RAW differ by 0.02 in it).
"none" makes no mix at all: the training config's gain and balance terms are the whole loss
(cheap: no audio is mixed or transformed, so many more steps fit in the same CPU time).
"mrstft-floor-matched" scales each mix by the one gain that best matches the target (least
squares) first, as the level-matched evaluation does: the mix loss then scores the balance and
the rides, not the overall level (which plain MR-STFT rewards turning down).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from models.alm.config import SAMPLE_RATE

WINDOWS_S = (0.010, 0.020, 0.080)
FLOOR_DBFS = -60.0
HANN_POWER = 0.375
"""Mean of hann(n)^2: white noise of RMS s has |STFT bin| ~ s * sqrt(0.375 * window)."""
FFT_SIZES = (512, 1024, 4096)
HOP_FRACTION = 0.25


def mrstft_sizes(sample_rate: int = SAMPLE_RATE) -> tuple[list[int], list[int], list[int]]:
    """(fft sizes, hop sizes, window lengths) of the paper's MR-STFT at `sample_rate`."""
    wins = [round(w * sample_rate) for w in WINDOWS_S]
    hops = [round(w * HOP_FRACTION) for w in wins]
    return list(FFT_SIZES), hops, wins


class MRSTFTLoss(nn.Module):
    """mix, target: (batch, samples) -> scalar: auraloss's spectral convergence + log magnitude,
    averaged over the three resolutions."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, floor_dbfs: float | None = None) -> None:
        super().__init__()
        import auraloss

        ffts, hops, wins = mrstft_sizes(sample_rate)
        self.resolutions = nn.ModuleList()
        for fft, hop, win in zip(ffts, hops, wins, strict=True):
            extra = {}
            if floor_dbfs is not None:
                extra["eps"] = (10.0 ** (floor_dbfs / 20.0)) ** 2 * HANN_POWER * win
            self.resolutions.append(auraloss.freq.STFTLoss(fft, hop, win, **extra))

    def forward(self, mix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        a, b = mix.unsqueeze(1), target.unsqueeze(1)  # (batch, 1, samples) each
        return sum(loss(a, b) for loss in self.resolutions) / len(self.resolutions)


class LevelMatched(nn.Module):
    """A mix loss after scaling each mix by its least-squares gain to the target."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, mix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        scale = torch.sum(mix * target, dim=-1, keepdim=True) / (
            torch.sum(mix * mix, dim=-1, keepdim=True) + 1e-9
        )
        return self.inner(mix * scale.clamp(min=1e-3), target)


class L1Loss(nn.Module):
    """Time-domain mean absolute error (a simple reference loss)."""

    def forward(self, mix: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.mean(torch.abs(mix - target))


def floored_mrstft() -> nn.Module:
    return MRSTFTLoss(floor_dbfs=FLOOR_DBFS)


def matched_floored_mrstft() -> nn.Module:
    return LevelMatched(MRSTFTLoss(floor_dbfs=FLOOR_DBFS))


LOSSES: dict[str, Callable[[], nn.Module] | None] = {
    "mrstft": MRSTFTLoss,
    "mrstft-floor": floored_mrstft,
    "mrstft-floor-matched": matched_floored_mrstft,
    "l1": L1Loss,
    "none": None,
}
"""Losses by name (the `loss` field of a training config)."""


def make_loss(name: str) -> nn.Module | None:
    """The mix loss of a name; None for "none" (no mix loss)."""
    try:
        make = LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown loss {name!r}; choose one of: {', '.join(sorted(LOSSES))}"
        ) from None
    return None if make is None else make()
