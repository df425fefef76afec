"""Loudness-equalising auto-fader: each channel's short-term loudness pulled to a common target.

The classic "leveller" an engineer can set up on any console: K-weighted power per channel over
a few seconds, gain = common target - channel loudness, bounded and smoothed. Quiet channels
(rests, unused inputs) hold their gain instead of being pushed up into noise and bleed.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import bilinear, lfilter, lfilter_zi

from models.gainsource import check_hop

_EPS = 1e-12


def k_weighting(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """ITU-R BS.1770 K-weighting (high shelf + high pass) as one filter for `sample_rate`.

    Designed in the analogue domain from the standard's pole/zero frequencies and mapped with the
    bilinear transform, so it is valid at any rate (at 48 kHz it is within 0.1 dB of the
    published biquads from 20 Hz to 10 kHz).
    """
    # Stage 1: high shelf, +4 dB above ~1.7 kHz.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b1 = np.array(
        [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    )
    a1 = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    # Stage 2: RLB high pass at ~38 Hz.
    f1, q1 = 38.13547087602444, 0.5003270373238773
    b2a, a2a = bilinear(
        [1.0, 0.0, 0.0], [1.0, 2 * np.pi * f1 / q1, (2 * np.pi * f1) ** 2], fs=sample_rate
    )
    return np.convolve(b1, b2a), np.convolve(a1, a2a)


class LoudnessAutoFader:
    """Gain source: equal short-term loudness for every active channel.

    Args:
        window_s: time constant of the loudness estimate (EBU "short-term" is 3 s).
        gate_db: a channel quieter than this (K-weighted dBFS) holds its gain.
        relative_gate_db: so does a channel this far below the loudest one: at that distance it
            carries only bleed (a singer between lines), and raising it would raise the bleed.
        max_boost_db / max_cut_db: bounds of the correction.
        smoothing_s: time constant of the gain itself, so the faders glide.
    """

    name = "autofader"

    def __init__(
        self,
        window_s: float = 3.0,
        gate_db: float = -55.0,
        relative_gate_db: float = 30.0,
        max_boost_db: float = 12.0,
        max_cut_db: float = 24.0,
        smoothing_s: float = 1.5,
    ) -> None:
        self.window_s = window_s
        self.gate_db = gate_db
        self.relative_gate_db = relative_gate_db
        self.max_boost_db = max_boost_db
        self.max_cut_db = max_cut_db
        self.smoothing_s = smoothing_s
        self._n = 0

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self._n = n_channels
        self._rate = sample_rate
        self._b, self._a = k_weighting(sample_rate)
        self._zi = np.tile(lfilter_zi(self._b, self._a) * 0.0, (n_channels, 1))
        self._power = np.full(n_channels, np.nan)
        self._gains = np.zeros(n_channels)

    def step(self, hop: np.ndarray) -> np.ndarray:
        check_hop(hop, self._n)
        hop_s = hop.shape[1] / self._rate
        weighted, self._zi = lfilter(self._b, self._a, hop.astype(np.float64), axis=1, zi=self._zi)
        power = np.mean(weighted**2, axis=1)
        alpha = 1.0 - np.exp(-hop_s / self.window_s)
        fresh = np.isnan(self._power)
        self._power = np.where(fresh, power, self._power + alpha * (power - self._power))
        loudness = -0.691 + 10 * np.log10(self._power + _EPS)
        active = (loudness > self.gate_db) & (loudness > loudness.max() - self.relative_gate_db)
        if active.any():
            # The common target is the mean active loudness: the overall level stays put.
            target = float(np.mean(loudness[active]))
            wanted = np.clip(target - loudness, -self.max_cut_db, self.max_boost_db)
            beta = 1.0 - np.exp(-hop_s / self.smoothing_s)
            self._gains = np.where(active, self._gains + beta * (wanted - self._gains), self._gains)
        return self._gains.copy()
