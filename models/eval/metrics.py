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


def source_levels_db(images: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """images (C, S, n): source s in channel c; curve (C, n) -> (S,) energy of each source in the
    mix, dB."""
    produced = np.zeros(images.shape[1:], dtype=np.float64)
    for c in range(images.shape[0]):
        produced += images[c] * curve[c]
    return 10.0 * np.log10(np.sum(produced**2, axis=-1) + 1e-20)


def balance_errors_db(
    images: np.ndarray, curve: np.ndarray, target_sources: np.ndarray
) -> np.ndarray:
    """(S,) each source's level in the produced mix minus its level in the target mix, dB.

    target_sources: (S, n) each source as the target mix carries it.
    """
    target = 10.0 * np.log10(np.sum(target_sources.astype(np.float64) ** 2, axis=-1) + 1e-20)
    return source_levels_db(images, curve) - target


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


def _magnitudes(x: np.ndarray, rate: int) -> np.ndarray:
    """|STFT| at the paper's middle resolution (FFT 1024, 20 ms Hann window, 25 % hop)."""
    from models.train.losses import mrstft_sizes

    ffts, hops, wins = mrstft_sizes(rate)
    t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    spec = torch.stft(t, ffts[1], hops[1], wins[1], torch.hann_window(wins[1]),
                      return_complex=True)  # fmt: skip
    return spec.abs().numpy().astype(np.float64)


def level_match_gain(mix: np.ndarray, target: np.ndarray, rate: int) -> float:
    """The one gain a that best matches a * mix to the target: least squares on the STFT
    magnitudes (what MR-STFT compares), so a polarity flip or a delay the metric ignores does
    not pull the gain down as a waveform fit would. 1.0 for a silent mix."""
    a, b = _magnitudes(mix, rate), _magnitudes(target, rate)
    energy = float(np.sum(a * a))
    return float(np.sum(a * b) / energy) if energy > 0 else 1.0


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770, pyloudnorm), LUFS; -inf for silence."""
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64)))
