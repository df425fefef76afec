"""The safety stage between the gain source and every output.

It starts from the console: `adopt` takes the faders read at connect (the soundcheck snapshot)
and at every resync, so no fader ever moves more than one slew step per hop.
Per channel: user offset (trim), floor and ceiling, relative range, slew limit, lock (model
ignored), manual level, human override (a person moved the fader: it wins). Globally: the ride
(absolute: the model sets the level; relative: it rides +-range_db around the snapshot), freeze,
bypass (glide to the snapshot) and restore (glide to the snapshot, then freeze). A fault (NaN
gains, a model exception, capture lost) freezes every fader where it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from bridge.config import SAFETY

BOTTOM_DB = -90.0
"""A fader at or below this is at the bottom of its travel (-inf on the console): slewing up
from it starts here, and a glide down that reaches it lands on the target (e.g. -inf)."""
RIDES = ("absolute", "relative")
"""How the model's gains become fader levels (listen mode is an output setting: nothing sent)."""


class Mode(StrEnum):
    AUTO = "auto"
    FREEZE = "freeze"
    """Every fader held where it is."""
    BYPASS = "bypass"
    """The model is ignored: faders glide back to the snapshot (the engineer's soundcheck)."""
    RESTORE = "restore"
    """Glide back to the snapshot, then freeze there."""


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
    range_db: float = 6.0
    """Relative ride: the model moves this fader at most this far from its snapshot."""


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
        ride: str = "absolute",
    ) -> None:
        if ride not in RIDES:
            raise ValueError(f"ride must be one of {list(RIDES)}, got {ride!r}")
        self.n = n_channels
        self.hop_s = hop_s
        self.slew_db_per_s = slew_db_per_s
        self.channels = [ChannelSettings() for _ in range(n_channels)]
        self.mode = Mode.AUTO
        self.ride = ride
        self.faults = 0
        self.last_fault = ""
        self._out = np.zeros(n_channels) if initial_db is None else np.array(initial_db, float)
        self.snapshot_db = self._out.copy()
        """The engineer's levels from the console at connect: bypass and restore go back here."""
        self._lock = threading.Lock()

    @property
    def current_db(self) -> np.ndarray:
        with self._lock:
            return self._out.copy()

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode

    def adopt(self, levels_db: list[float | None], snapshot: bool = False) -> None:
        """Start from what the console holds (None: unknown, kept); `snapshot` also makes these
        the levels that bypass and restore glide back to."""
        with self._lock:
            for ch, level in enumerate(levels_db[: self.n]):
                if level is None or np.isnan(level):
                    continue
                self._out[ch] = level
                if self.channels[ch].state is ChannelState.HUMAN:
                    self.channels[ch].manual_db = level
                if snapshot:
                    self.snapshot_db[ch] = level

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
                wanted = self._wanted(ch, s, float(model_db[ch]))
                self._out[ch] = slew(float(self._out[ch]), wanted, max_step)
            if self.mode is Mode.RESTORE and self._at_snapshot():
                self.mode = Mode.FREEZE
            return SafetyReport(out_db=self._out.copy(), held=held)

    def at_snapshot(self) -> bool:
        """Every channel the stage may move is back at its snapshot level."""
        with self._lock:
            return self._at_snapshot()

    def _at_snapshot(self) -> bool:
        movable = [c for c, s in enumerate(self.channels) if s.state is ChannelState.AUTO]
        return bool(np.array_equal(self._out[movable], self.snapshot_db[movable]))

    def _wanted(self, ch: int, s: ChannelSettings, model_db: float) -> float:
        snap = float(self.snapshot_db[ch])
        if self.mode in (Mode.BYPASS, Mode.RESTORE):
            return snap
        if self.ride == "absolute":
            return float(np.clip(model_db + s.offset_db, s.floor_db, s.ceiling_db))
        if snap <= BOTTOM_DB:
            return snap  # closed at soundcheck: a relative ride leaves it closed
        level = float(np.clip(snap + model_db + s.offset_db, s.floor_db, s.ceiling_db))
        return float(np.clip(level, snap - s.range_db, snap + s.range_db))


def slew(current: float, wanted: float, max_step: float) -> float:
    """One hop from `current` towards `wanted`, at most `max_step` dB; the bottom of the fader
    (<= BOTTOM_DB, -inf) counts as BOTTOM_DB, so a closed fader opens gradually."""
    cur = max(current, BOTTOM_DB)
    goal = max(wanted, BOTTOM_DB)
    nxt = cur + float(np.clip(goal - cur, -max_step, max_step))
    if nxt <= BOTTOM_DB and wanted <= BOTTOM_DB:
        return wanted
    return nxt
