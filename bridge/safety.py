"""The safety stage between the gain source and every output.

Per channel: user offset (trim), floor and ceiling, slew limit, lock (model ignored), manual
level, human override (a person moved the fader: it wins). Globally: freeze and bypass. A fault
(NaN gains, a model exception, capture lost) freezes every fader where it is; nothing ever jumps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from bridge.config import SAFETY


class Mode(StrEnum):
    AUTO = "auto"
    FREEZE = "freeze"
    """Every fader held where it is."""
    BYPASS = "bypass"
    """The model is ignored: faders glide back to 0 dB plus the channel's offset."""


class ChannelState(StrEnum):
    AUTO = "auto"
    LOCKED = "locked"
    MANUAL = "manual"
    HUMAN = "human"
    """A person moved this fader on the console; we stop driving it until released."""
    PROTECTED = "protected"
    """Never touched by us (talkback, playback)."""


@dataclass
class ChannelSettings:
    offset_db: float = 0.0
    floor_db: float = SAFETY.floor_db
    ceiling_db: float = SAFETY.ceiling_db
    state: ChannelState = ChannelState.AUTO
    manual_db: float = 0.0


@dataclass
class SafetyReport:
    """What the stage did on one hop, for the TUI and logs."""

    out_db: np.ndarray
    faulted: bool = False
    fault: str = ""
    held: list[int] = field(default_factory=list)


class SafetyStage:
    """Turns model gains (dB) into the gains the outputs may send (dB).

    Thread-safe: the TUI changes settings from its thread while the engine calls `process`.
    """

    def __init__(
        self,
        n_channels: int,
        hop_s: float,
        slew_db_per_s: float = SAFETY.slew_db_per_s,
        initial_db: np.ndarray | None = None,
    ) -> None:
        self.n = n_channels
        self.hop_s = hop_s
        self.slew_db_per_s = slew_db_per_s
        self.channels = [ChannelSettings() for _ in range(n_channels)]
        self.mode = Mode.AUTO
        self.faults = 0
        self.last_fault = ""
        self._out = np.zeros(n_channels) if initial_db is None else np.array(initial_db, float)
        self._lock = threading.Lock()

    @property
    def current_db(self) -> np.ndarray:
        with self._lock:
            return self._out.copy()

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode

    def set_state(self, ch: int, state: ChannelState, level_db: float | None = None) -> None:
        with self._lock:
            settings = self.channels[ch]
            settings.state = state
            if level_db is not None:
                settings.manual_db = level_db
                if state is ChannelState.HUMAN:
                    # The person's fader is where they put it: that is our state too.
                    self._out[ch] = level_db

    def nudge_offset(self, ch: int, delta_db: float) -> None:
        with self._lock:
            self.channels[ch].offset_db += delta_db

    def fault(self, reason: str) -> SafetyReport:
        """Something upstream failed: hold every fader where it is."""
        with self._lock:
            self.faults += 1
            self.last_fault = reason
            return SafetyReport(out_db=self._out.copy(), faulted=True, fault=reason)

    def process(self, model_db: np.ndarray) -> SafetyReport:
        """One hop: the model's gains in, the gains to send out (slew-limited, bounded)."""
        model_db = np.asarray(model_db, dtype=np.float64)
        if model_db.shape != (self.n,):
            return self.fault(f"gain source returned shape {model_db.shape}, expected ({self.n},)")
        if not np.isfinite(model_db).all():
            return self.fault("gain source returned NaN/Inf")
        with self._lock:
            if self.mode is Mode.FREEZE:
                return SafetyReport(out_db=self._out.copy(), held=list(range(self.n)))
            max_step = self.slew_db_per_s * self.hop_s
            held = []
            for ch, s in enumerate(self.channels):
                if s.state in (ChannelState.HUMAN, ChannelState.PROTECTED, ChannelState.LOCKED):
                    held.append(ch)
                    continue
                if s.state is ChannelState.MANUAL:
                    # A level the engineer typed: go there at once (it is their decision).
                    self._out[ch] = s.manual_db
                    continue
                base = 0.0 if self.mode is Mode.BYPASS else model_db[ch]
                wanted = float(np.clip(base + s.offset_db, s.floor_db, s.ceiling_db))
                step = float(np.clip(wanted - self._out[ch], -max_step, max_step))
                self._out[ch] += step
            return SafetyReport(out_db=self._out.copy(), held=held)
