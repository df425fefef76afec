"""Mix-quality metrics (DESIGN.md section 3), all on what a zero-latency mixer produces.

Gains are in dB per 50 ms frame; `applied[t]` is the gain in force on frame t (the one predicted
from frame t-1). Gain metrics clip to GAIN_RANGE_DB first: below -40 dB a channel is out of the
mix whatever the number says, so a -80 dB oracle gain and a -40 dB fader read the same.
"""

from __future__ import annotations

import numpy as np
import torch

from models.alm.mixing import zero_latency_gains

GAIN_RANGE_DB = (-40.0, 24.0)
CLIP_LEVEL = 1.0
"""Full scale: samples at or beyond it would clip (no normalisation, as live)."""


def gain_curve(predicted_db: np.ndarray, hop: int, n_samples: int) -> np.ndarray:
    """predicted_db: (frames, C), row t returned after frame t -> per-sample linear gains (C, n):
    frame t+1 glides from row t-1 to row t (the engine's direct mixer); frame 0 is at unity."""
    lin = torch.from_numpy(10.0 ** (np.asarray(predicted_db, dtype=np.float64).T / 20.0))
    curve = zero_latency_gains(lin[None], hop, n_samples, ramp=True)  # (1, C, n)
    return curve[0].numpy()


def mix_with(channels: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """channels (C, n) * gains (C, n) -> mono mix (n,) float64."""
    return np.einsum("cn,cn->n", channels.astype(np.float64), curve)


def applied_db(predicted_db: np.ndarray) -> np.ndarray:
    """(frames, C) predictions -> (frames, C) gains in force on each frame (frame 0: 0 dB)."""
    zero = np.zeros((1, predicted_db.shape[1]))
    return np.concatenate([zero, predicted_db[:-1]], axis=0)


def mrstft_distance(mix: np.ndarray, target: np.ndarray, floor_dbfs: float | None = None) -> float:
    """The paper's MR-STFT loss between a produced mix and the target mix (0: identical);
    floor_dbfs: with bins floored at that noise level (models.train.losses, "mrstft-floor")."""
    from models.train.losses import MRSTFTLoss

    with torch.no_grad():
        a = torch.from_numpy(np.asarray(mix, dtype=np.float32))[None]
        b = torch.from_numpy(np.asarray(target, dtype=np.float32))[None]
        return float(MRSTFTLoss(floor_dbfs=floor_dbfs)(a, b))


AURALOSS_EPS = 1e-8
"""auraloss STFTLoss's default power floor."""


def _powers(x: np.ndarray, rate: int) -> list[torch.Tensor]:
    """|STFT|^2 at the three resolutions of models.train.losses (auraloss's STFT)."""
    from models.train.losses import mrstft_sizes

    t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    out = []
    for fft, hop, win in zip(*mrstft_sizes(rate), strict=True):
        spec = torch.stft(t, fft, hop, win, torch.hann_window(win), return_complex=True)
        out.append(spec.real**2 + spec.imag**2)
    return out


def _floor_eps(floor_dbfs: float | None, win: int) -> float:
    from models.train.losses import HANN_POWER

    return (
        AURALOSS_EPS
        if floor_dbfs is None
        else (10.0 ** (floor_dbfs / 20.0)) ** 2 * HANN_POWER * win
    )


class TargetSpectra:
    """The target's STFT powers, taken once per song; `scores` compares a mix with them."""

    def __init__(self, target: np.ndarray, rate: int) -> None:
        from models.train.losses import mrstft_sizes

        self.rate = rate
        self.windows = mrstft_sizes(rate)[2]
        self.powers = _powers(target, rate)

        self._target: dict[float | None, list[tuple[torch.Tensor, torch.Tensor, float]]] = {}

    def _target_terms(
        self, floor_dbfs: float | None
    ) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
        """Per resolution: the target's floored magnitudes, their log and norm (cached)."""
        if floor_dbfs not in self._target:
            terms = []
            for py, win in zip(self.powers, self.windows, strict=True):
                ym = torch.sqrt(py.clamp_min(_floor_eps(floor_dbfs, win)))
                terms.append((ym, torch.log(ym), float(torch.linalg.norm(ym))))
            self._target[floor_dbfs] = terms
        return self._target[floor_dbfs]

    def _loss(self, mix: list[torch.Tensor], floor_dbfs: float | None) -> float:
        total = 0.0
        terms = self._target_terms(floor_dbfs)
        for px, (ym, log_ym, norm), win in zip(mix, terms, self.windows, strict=True):
            xm = torch.sqrt(px.clamp_min(_floor_eps(floor_dbfs, win)))
            sc = float(torch.linalg.norm(ym - xm)) / norm
            total += sc + float(torch.mean(torch.abs(torch.log(xm) - log_ym)))
        return total / len(mix)

    def match_gain(self, mix: list[torch.Tensor]) -> float:
        """The one gain a that best matches a * mix to the target: least squares on the STFT
        magnitudes at the middle resolution (what MR-STFT compares), so a polarity flip or a
        delay the metric ignores does not pull the gain down as a waveform fit would; 1.0 for
        a silent mix."""
        xm, ym = torch.sqrt(mix[1]), torch.sqrt(self.powers[1])
        energy = float(torch.sum(xm * xm))
        return float(torch.sum(xm * ym)) / energy if energy > 0 else 1.0

    def scores(self, mix: np.ndarray, floor_dbfs: float) -> dict[str, float]:
        """MR-STFT of the mix as it is ("mrstft"), floored at floor_dbfs ("mrstft_floor") and
        after the level-matching gain ("mrstft_matched", the gain in "match_gain")."""
        powers = _powers(mix, self.rate)
        a = self.match_gain(powers)
        return {
            "mrstft_matched": self._loss([p * a * a for p in powers], None),
            "mrstft": self._loss(powers, None),
            "mrstft_floor": self._loss(powers, floor_dbfs),
            "match_gain": a,
        }


def gain_error_db(applied: np.ndarray, oracle: np.ndarray) -> float:
    """Mean |applied - oracle| over frames 1.. and channels, both clipped to GAIN_RANGE_DB."""
    a = np.clip(applied[1:], *GAIN_RANGE_DB)
    o = np.clip(oracle[1 : len(applied)], *GAIN_RANGE_DB)
    return float(np.mean(np.abs(a[: len(o)] - o)))


def smoothness(predicted_db: np.ndarray, hop_s: float) -> tuple[float, float]:
    """(mean |gain change| per second per channel, largest step between frames), dB, clipped
    to GAIN_RANGE_DB."""
    g = np.clip(predicted_db, *GAIN_RANGE_DB)
    if len(g) < 2:
        return 0.0, 0.0
    steps = np.abs(np.diff(g, axis=0))  # (frames - 1, C)
    per_second = float(np.mean(np.sum(steps, axis=0)) / ((len(g) - 1) * hop_s))
    return per_second, float(np.max(steps))


def clipping_share(mix: np.ndarray) -> float:
    """Share of samples at or over full scale."""
    return float(np.mean(np.abs(mix) >= CLIP_LEVEL))


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770, pyloudnorm), LUFS; -inf for silence."""
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64)))
