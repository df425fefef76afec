"""Every evaluated system behind the same streaming GainSource interface, hop by hop.

The networks and baselines come from the registry (models.gainsource) and are played as the
engine plays them: through the activity gate (GatedGains: a channel carrying only bleed holds
its gain). ORACLE reads the data engine's per-frame oracle gains of the song (so it looks one
frame ahead: it is the bound).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bridge.safety import SafetyStage
from models.activity import ActivityGate
from models.gainsource import GainSource, check_hop, make_gain_source, tell_roles


class GatedGains:
    """A gain source as the engine's safety stage plays it: the stage itself (bridge.safety),
    fed by an activity gate, with no floor or ceiling (the systems' own ranges are measured). A
    channel the gate finds inactive holds its gain, one that is settling (it just began to play)
    may go down but not up, the others follow the source at most one slew step per hop. The
    gain before the first hop is 0 dB (the channels as they arrive)."""

    def __init__(self, source: GainSource) -> None:
        self.source = source
        self.name = source.name
        self.gate = ActivityGate()
        self._stage: SafetyStage | None = None

    def set_roles(self, roles: Sequence[str | None] | None) -> None:
        tell_roles(self.source, roles)

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self.source.reset(n_channels, sample_rate)
        self._n, self._rate = n_channels, sample_rate
        self._stage = None  # made on the first hop, which gives the hop length

    def step(self, hop: np.ndarray) -> np.ndarray:
        wanted = self.source.step(hop)
        if self._stage is None:
            hop_s = hop.shape[1] / self._rate
            self.gate.reset(self._n, hop_s)
            self._stage = SafetyStage(self._n, hop_s)
            for settings in self._stage.channels:
                settings.floor_db, settings.ceiling_db = -math.inf, math.inf
        active = self.gate.update_audio(hop)
        return self._stage.process(wanted, active, self.gate.settling).out_db


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


def make_system(name: str, oracle_db: np.ndarray | None, gate: bool = True) -> GainSource | None:
    """A system by name; None for ORACLE on a song without oracle gains. gate=True: played
    through the activity gate as the engine plays it (GatedGains); False: the bare source."""
    if name == "oracle":
        return None if oracle_db is None else OracleGains(oracle_db)
    source = make_gain_source(name)
    return GatedGains(source) if gate else source


def stream_gains(source: GainSource, audio: np.ndarray, hop: int, sample_rate: int) -> np.ndarray:
    """Feeds (C, n) audio hop by hop -> (frames, C) dB: row t is what `step` returned after hop t
    (applied to frame t+1). A last partial hop is not fed (nothing follows it)."""
    source.reset(audio.shape[0], sample_rate)
    frames = audio.shape[1] // hop
    out = np.empty((frames, audio.shape[0]))
    for t in range(frames):
        out[t] = source.step(np.ascontiguousarray(audio[:, t * hop : (t + 1) * hop]))
    return out
