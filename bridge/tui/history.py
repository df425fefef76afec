"""A short, thread-safe history of the sent gains, for the selected channel's sparkline."""

from __future__ import annotations

import threading

import numpy as np


class SentHistory:
    """The last `capacity` hops of sent gains (dB) for every channel.

    The engine thread appends every hop (UI messages coalesce, so the UI would miss some);
    the UI thread reads one channel's series.
    """

    def __init__(self, n_channels: int, capacity: int) -> None:
        self._data = np.zeros((capacity, n_channels))
        self._count = 0
        self._lock = threading.Lock()

    def append(self, sent_db: np.ndarray) -> None:
        with self._lock:
            self._data[self._count % len(self._data)] = sent_db
            self._count += 1

    def series(self, ch: int) -> list[float]:
        """Channel `ch`'s sent gains, oldest first."""
        with self._lock:
            cap = len(self._data)
            if self._count <= cap:
                return self._data[: self._count, ch].tolist()
            start = self._count % cap
            return np.roll(self._data[:, ch], -start).tolist()
