"""Signal helpers of the stage simulation: levels, many-to-many FFT convolution, image energies."""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft


def active_rms(x: np.ndarray, frame: int = 2400, floor_db: float = -30.0) -> float:
    """RMS over the frames within floor_db of the loudest frame (ignores rests)."""
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)
    frames = np.sqrt(np.mean(x[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    keep = frames >= frames.max() * 10 ** (floor_db / 20)
    return float(np.sqrt(np.mean(frames[keep] ** 2)) + 1e-12)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def db(x: float | np.ndarray, floor: float = 1e-12) -> np.ndarray:
    return 20.0 * np.log10(np.maximum(np.asarray(x, dtype=np.float64), floor))


def direction(mic: np.ndarray, src: np.ndarray) -> tuple[float, float]:
    """Azimuth and colatitude (degrees) of the source seen from the mic."""
    v = src - mic
    azimuth = float(np.degrees(np.arctan2(v[1], v[0])))
    colatitude = float(np.degrees(np.arccos(v[2] / np.linalg.norm(v))))
    return azimuth, colatitude


def _blocks(length: int) -> tuple[int, int]:
    """FFT size and hop of an overlap-add convolution with filters of `length` taps."""
    nfft = max(8192, 1 << int(np.ceil(np.log2(4 * length))))
    return nfft, nfft - length + 1


def _spectra(x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Block spectra of the signals (S, blocks, F) and filters (M, S, F), FFT size and hop."""
    s_count, n = x.shape
    if h.shape[1] != s_count:
        raise ValueError(f"{s_count} signals but filters for {h.shape[1]}")
    nfft, hop = _blocks(h.shape[2])
    n_blocks = -(-n // hop)
    padded = np.zeros((s_count, n_blocks * hop), dtype=np.float32)
    padded[:, :n] = x
    xb = padded.reshape(s_count, n_blocks, hop)  # (S, blocks, hop)
    xf = sfft.rfft(xb, n=nfft, axis=-1, workers=1)  # (S, blocks, F)
    hf = sfft.rfft(h.astype(np.float32), n=nfft, axis=-1, workers=1)  # (M, S, F)
    return xf, hf, nfft, hop


def _overlap_add(yf: np.ndarray, nfft: int, hop: int, n: int) -> np.ndarray:
    """Block spectra (..., blocks, F) -> the first n samples of the overlap-added signal."""
    yb = sfft.irfft(yf, n=nfft, axis=-1, workers=1)  # (..., blocks, nfft)
    n_blocks = yb.shape[-2]
    out = np.zeros((*yb.shape[:-2], n_blocks * hop + nfft), dtype=np.float32)
    for b in range(n_blocks):
        out[..., b * hop : b * hop + nfft] += yb[..., b, :]
    return out[..., :n]


def convolve_mix(
    x: np.ndarray, h: np.ndarray, own: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Overlap-add convolution of S signals with an (M, S) matrix of filters, summed per mic.

    x: (S, n); h: (M, S, L). Returns the mics (M, n) and, when `own` names one source per mic,
    that source's image alone in each mic (M, n), from the same spectra.
    """
    n = x.shape[1]
    xf, hf, nfft, hop = _spectra(x, h)
    # Per frequency bin: (M, S) @ (S, blocks) sums the sources before the inverse FFT.
    yf = np.matmul(hf.transpose(2, 0, 1), xf.transpose(2, 0, 1))  # (F, M, blocks)
    mix = _overlap_add(yf.transpose(1, 2, 0), nfft, hop, n)  # (M, n)
    if own is None:
        return mix, None
    own_f = np.stack([hf[m, s][None, :] * xf[s] for m, s in enumerate(own)])  # (M, blocks, F)
    return mix, _overlap_add(own_f, nfft, hop, n)


def convolve_pairs(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Every image separately: x (S, n), h (M, S, L) -> (M, S, n)."""
    n = x.shape[1]
    xf, hf, nfft, hop = _spectra(x, h)
    return np.stack([_overlap_add(hf[m, :, None, :] * xf, nfft, hop, n) for m in range(len(hf))])


def autocorrelations(x: np.ndarray, lags: int) -> np.ndarray:
    """x: (S, n) -> (S, lags) linear autocorrelation sum_t x[t] x[t+k] for k < lags."""
    n = x.shape[1]
    nfft = sfft.next_fast_len(n + lags, real=True)
    spec = sfft.rfft(x.astype(np.float32), n=nfft, axis=-1, workers=1)
    power = spec.real**2 + spec.imag**2
    return sfft.irfft(power, n=nfft, axis=-1, workers=1)[:, :lags].astype(np.float64)


def image_energies(x_acf: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Energy of every image conv(x_s, h_ms), exactly, from the signals' autocorrelations.

    x_acf: (S, L) autocorrelations (`autocorrelations(x, L)`); h: (M, S, L). Returns (M, S).
    """
    taps = h.shape[-1]
    nfft = sfft.next_fast_len(2 * taps)
    spec = sfft.rfft(h.astype(np.float64), n=nfft, axis=-1)
    h_acf = sfft.irfft(np.abs(spec) ** 2, n=nfft, axis=-1)[..., :taps]  # (M, S, L)
    weights = np.full(taps, 2.0)
    weights[0] = 1.0
    return np.maximum(np.einsum("msk,sk,k->ms", h_acf, x_acf[:, :taps], weights), 0.0)
