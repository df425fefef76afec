"""Dataset statistics: how far a gain-only mix is from the target (MR-STFT, per-source balance)."""

from __future__ import annotations

import numpy as np
from scipy.signal import stft

from models.data.store import SongData
from models.data.targets import gain_curve

MRSTFT_FFTS = (512, 1024, 4096)
"""The paper's loss: FFT sizes 512/1024/4096, windows of the same length, hop 25 %."""


def mrstft(estimate: np.ndarray, target: np.ndarray) -> float:
    """Multi-resolution STFT distance: spectral convergence + mean |log magnitude difference|,
    averaged over the resolutions (auraloss's definition, in numpy)."""
    total = 0.0
    for n_fft in MRSTFT_FFTS:
        _, _, a = stft(estimate, nperseg=n_fft, noverlap=n_fft - n_fft // 4, boundary=None)
        _, _, b = stft(target, nperseg=n_fft, noverlap=n_fft - n_fft // 4, boundary=None)
        ma, mb = np.abs(a) + 1e-7, np.abs(b) + 1e-7
        sc = np.linalg.norm(mb - ma) / np.linalg.norm(mb)
        total += float(sc + np.mean(np.abs(np.log(mb) - np.log(ma))))
    return total / len(MRSTFT_FFTS)


def mix_with(data: SongData, gains_db: np.ndarray | None) -> np.ndarray:
    """The channels mixed with per-frame gains (frames, channels); None: the unity sum (RAW)."""
    audio = data.song.audio.astype(np.float64)
    if gains_db is None:
        return audio.sum(axis=0)
    return np.sum(audio * gain_curve(gains_db, audio.shape[1], data.hop), axis=0)


def balance_errors_db(
    data: SongData, gains_db: np.ndarray | None, images: np.ndarray | None = None
) -> np.ndarray:
    """Per source: its level in the mix made with `gains_db` minus its level in the target, dB.

    The mix is first brought to the target's overall level (best single master gain), so the
    errors say how the balance differs, not how loud the mix is. Levels are RMS over the
    frames where the source is within 30 dB of its loudest frame in the target.
    """
    if data.target_gains_db is None or data.song.target_mix is None:
        raise ValueError("balance needs a song with target gains")
    images = data.images() if images is None else images  # (channels, S, n)
    n = images.shape[2]
    hop = data.hop
    curve = np.ones((images.shape[0], n)) if gains_db is None else gain_curve(gains_db, n, hop)
    produced = np.einsum("msn,mn->sn", images, curve)  # (S, n)
    target = data.clean() * gain_curve(data.target_gains_db, n, hop)  # (S, n)
    mix = produced.sum(axis=0)
    master = float(np.dot(mix, data.song.target_mix) / max(np.dot(mix, mix), 1e-30))
    frames = n // hop
    errors = []
    for s in range(images.shape[1]):
        t = np.mean(target[s, : frames * hop].reshape(frames, hop) ** 2, axis=1)
        p = np.mean(produced[s, : frames * hop].reshape(frames, hop) ** 2, axis=1) * master**2
        active = t > t.max() * 1e-3
        errors.append(10 * np.log10(p[active].mean() / t[active].mean()))
    return np.array(errors)
