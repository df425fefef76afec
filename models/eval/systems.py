"""Every evaluated system behind the same streaming GainSource interface, hop by hop.

The networks and baselines come from the registry (models.gainsource); ORACLE reads the data
engine's per-frame oracle gains of the song (so it looks one frame ahead: it is the bound).
"""

from __future__ import annotations

import numpy as np

from models.gainsource import GainSource, check_hop, make_gain_source


class OracleGains:
    """ORACLE: at hop t returns the data engine's oracle gain for frame t+1 (the best any
    gain-only mixer could do, applied with the same ramps)."""

    name = "oracle"

    def __init__(self, frame_db: np.ndarray) -> None:
        self.frame_db = np.asarray(frame_db, dtype=np.float64)  # (frames, C)
        self._t = 0

    def reset(self, n_channels: int, sample_rate: int) -> None:
        if self.frame_db.shape[1] != n_channels:
            raise ValueError(
                f"oracle gains for {self.frame_db.shape[1]} channels, got {n_channels}"
            )
        self._n, self._t = n_channels, 0

    def step(self, hop: np.ndarray) -> np.ndarray:
        check_hop(hop, self._n)
        row = min(self._t + 1, len(self.frame_db) - 1)
        self._t += 1
        return self.frame_db[row].copy()


def make_system(name: str, oracle_db: np.ndarray | None) -> GainSource | None:
    """A system by name; None for ORACLE on a song without oracle gains."""
    if name == "oracle":
        return None if oracle_db is None else OracleGains(oracle_db)
    return make_gain_source(name)


def stream_gains(source: GainSource, audio: np.ndarray, hop: int, sample_rate: int) -> np.ndarray:
    """Feeds (C, n) audio hop by hop -> (frames, C) dB: row t is what `step` returned after hop t
    (applied to frame t+1). A last partial hop is not fed (nothing follows it)."""
    source.reset(audio.shape[0], sample_rate)
    frames = audio.shape[1] // hop
    out = np.empty((frames, audio.shape[0]))
    for t in range(frames):
        out[t] = source.step(np.ascontiguousarray(audio[:, t * hop : (t + 1) * hop]))
    return out
