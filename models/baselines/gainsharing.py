"""Gain-sharing automixer (Dugan style): each channel gets its share of the total input power.

The classic live-speech automixer: gain_i = P_i / sum_j P_j (power), so the sum of the gains is
one "open microphone" whatever the number of channels, the loudest channel sits near 0 dB and the
others are pulled down by how much quieter they are. Levels are smoothed; in silence (every
channel below the gate) the gains hold.
"""

from __future__ import annotations

import numpy as np

from models.gainsource import check_hop

_EPS = 1e-12


class GainSharingAutomixer:
    """Gain source: Dugan-style gain sharing on smoothed channel power.

    Args:
        level_time_s: time constant of the power estimate each channel's share is taken from.
        gate_db: when every channel is below this (dBFS RMS), the gains hold.
        floor_db: the deepest attenuation (an automixer never mutes here).
        weights_db: optional per-channel bias (a channel weighted +6 dB wins more of the share).
    """

    name = "gainsharing"

    def __init__(
        self,
        level_time_s: float = 0.2,
        gate_db: float = -70.0,
        floor_db: float = -40.0,
        weights_db: np.ndarray | None = None,
    ) -> None:
        self.level_time_s = level_time_s
        self.gate_db = gate_db
        self.floor_db = floor_db
        self.weights_db = weights_db
        self._n = 0

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self._n = n_channels
        self._rate = sample_rate
        self._power = np.full(n_channels, np.nan)
        self._gains = np.zeros(n_channels)
        w = np.zeros(n_channels) if self.weights_db is None else np.asarray(self.weights_db)
        if w.shape != (n_channels,):
            raise ValueError(f"weights_db needs {n_channels} values, got shape {w.shape}")
        self._weights = np.power(10.0, w / 10.0)

    def step(self, hop: np.ndarray) -> np.ndarray:
        check_hop(hop, self._n)
        power = np.mean(hop.astype(np.float64) ** 2, axis=1)
        alpha = 1.0 - np.exp(-hop.shape[1] / self._rate / self.level_time_s)
        fresh = np.isnan(self._power)
        self._power = np.where(fresh, power, self._power + alpha * (power - self._power))
        if 10 * np.log10(self._power.max() + _EPS) > self.gate_db:
            share = self._weights * self._power / np.sum(self._weights * self._power)
            self._gains = np.maximum(10 * np.log10(share + _EPS), self.floor_db)
        return self._gains.copy()
