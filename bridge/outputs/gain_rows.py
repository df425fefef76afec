"""Per-hop gains kept compactly in memory: numpy blocks, not a list of arrays.

A list of one small array per hop costs ~400 bytes a hop at 32 channels (the array's header, the
list slot, a float for the time); an hour is 72,000 hops. Blocks of `BLOCK` rows cost the data
alone, allocated a block at a time.
"""

from __future__ import annotations

import numpy as np

BLOCK = 1024
"""Rows per block (51 s of hops)."""


class GainRows:
    """(time, gains) rows appended one hop at a time; `times()` and `gains()` read them back."""

    def __init__(self, n_channels: int, dtype: type[np.floating] = np.float64) -> None:
        self.n_channels = n_channels
        self.dtype = dtype
        self._times: list[np.ndarray] = []
        self._gains: list[np.ndarray] = []
        self._fill = BLOCK

    def append(self, t: float, gains_db: np.ndarray) -> None:
        if self._fill == BLOCK:
            self._times.append(np.empty(BLOCK, dtype=np.float64))
            self._gains.append(np.empty((BLOCK, self.n_channels), dtype=self.dtype))
            self._fill = 0
        self._times[-1][self._fill] = t
        self._gains[-1][self._fill] = gains_db
        self._fill += 1

    def __len__(self) -> int:
        return 0 if not self._times else (len(self._times) - 1) * BLOCK + self._fill

    def _joined(self, blocks: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([*blocks[:-1], blocks[-1][: self._fill]])

    def times(self) -> np.ndarray:
        """(hops,) seconds."""
        return self._joined(self._times) if self._times else np.zeros(0)

    def gains(self) -> np.ndarray:
        """(hops, channels) dB, as float64."""
        if not self._gains:
            return np.zeros((0, self.n_channels))
        return self._joined(self._gains).astype(np.float64, copy=False)
