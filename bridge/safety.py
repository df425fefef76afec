"""The safety stage between the gain source and every output.

It starts from the console: `adopt` takes the faders read at connect (the soundcheck snapshot)
and at every resync, so no fader ever moves more than one slew step per hop.
Per channel: user offset (trim), floor and ceiling, relative range, slew limit, lock (model
ignored), manual level, human override (a person moved the fader: it wins), the activity gate
(while the channel carries only bleed the model does not ride it: the fader holds where it is,
models.activity). Globally: the ride (absolute: the model sets the level; relative: it rides
+-range_db around the snapshot), freeze, bypass (glide to the snapshot) and restore (glide to
the snapshot, then freeze). A fault (NaN
gains, a model exception, capture lost) freezes every fader where it is.

A hop is numpy over the channels: the settings are mirrored in arrays, rebuilt only when a
setting changed (every ChannelSettings of a stage counts its changes), never per hop.
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


class _Changes:
    """How many times any channel setting of one stage was set (the arrays' freshness)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclass
class ChannelSettings:
    offset_db: float = 0.0
    floor_db: float = SAFETY.floor_db
    ceiling_db: float = SAFETY.ceiling_db
    state: ChannelState = ChannelState.AUTO
    manual_db: float = 0.0
    range_db: float = 6.0
    """Relative ride: the model moves this fader at most this far from its snapshot."""
    gate: bool = True
    """Hold this fader while the channel carries only bleed (the activity gate); off for a
    channel that is always quiet on purpose (an ambience mic)."""

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        changes = self.__dict__.get("_changes")
        if changes is not None:  # a stage's own settings (a copy made by `replace` has none)
            changes.count += 1


_HELD = (ChannelState.HUMAN, ChannelState.PROTECTED, ChannelState.LOCKED)


@dataclass
class _Arrays:
    """The channels' settings as arrays, for one hop in numpy."""

    offset: np.ndarray
    floor: np.ndarray
    ceiling: np.ndarray
    manual: np.ndarray
    range: np.ndarray
    held: np.ndarray
    """bool: human, protected or locked (the model is ignored, the fader stays)."""
    manual_mask: np.ndarray
    auto: np.ndarray
    """bool: the state is AUTO (the stage slews it)."""
    gated: np.ndarray
    """bool: the activity gate may hold it."""
    held_list: list[int]
    states: list[str]
    version: int

    @classmethod
    def of(cls, channels: list[ChannelSettings], version: int) -> _Arrays:
        def col(name: str) -> np.ndarray:
            return np.array([getattr(c, name) for c in channels], dtype=np.float64)

        states = [c.state for c in channels]
        held = np.array([s in _HELD for s in states], dtype=bool)
        return cls(
            offset=col("offset_db"),
            floor=col("floor_db"),
            ceiling=col("ceiling_db"),
            manual=col("manual_db"),
            range=col("range_db"),
            held=held,
            manual_mask=np.array([s is ChannelState.MANUAL for s in states], dtype=bool),
            auto=np.array([s is ChannelState.AUTO for s in states], dtype=bool),
            gated=np.array([c.gate for c in channels], dtype=bool),
            held_list=np.flatnonzero(held).tolist(),
            states=[s.value for s in states],
            version=version,
        )


@dataclass
class SafetyReport:
    """What the stage did on one hop, for the TUI and logs."""

    out_db: np.ndarray
    faulted: bool = False
    fault: str = ""
    held: list[int] = field(default_factory=list)
    quiet: list[int] = field(default_factory=list)
    """Channels the activity gate held on this hop (only bleed on them)."""


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
        self._changes = _Changes()
        self.channels = [ChannelSettings() for _ in range(n_channels)]
        for settings in self.channels:
            object.__setattr__(settings, "_changes", self._changes)
        self._arrays: _Arrays | None = None
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

    def process(
        self,
        model_db: np.ndarray,
        active: np.ndarray | None = None,
        settling: np.ndarray | None = None,
    ) -> SafetyReport:
        """One hop: the model's gains in, the gains to send out (slew-limited, bounded).

        active, settling (channels,) bool, from models.activity.ActivityGate: while the model
        rides, a gated channel that is not active holds where it is, and one that is settling
        (it just began to play) may go down but not up. Bypass and restore ignore them."""
        model_db = np.asarray(model_db, dtype=np.float64)
        if model_db.shape != (self.n,):
            return self.fault(f"gain source returned shape {model_db.shape}, expected ({self.n},)")
        if not np.isfinite(model_db).all():
            return self.fault("gain source returned NaN/Inf")
        with self._lock:
            if self.mode is Mode.FREEZE:
                return SafetyReport(out_db=self._out.copy(), held=list(range(self.n)))
            a = self._settings()
            # Human, protected and locked channels stay; a level the engineer typed (manual) is
            # reached at once (it is their decision); the rest slew towards what is wanted.
            moving = ~(a.held | a.manual_mask)
            quiet: list[int] = []
            wanted = self._wanted(a, model_db)
            if active is not None and self.mode is Mode.AUTO:
                gate = self._gate_mask(a, active)
                if gate.any():
                    moving = moving & ~gate
                    quiet = np.flatnonzero(gate).tolist()
                if settling is not None:
                    no_raise = a.gated & np.asarray(settling, dtype=bool)
                    wanted = np.where(no_raise, np.minimum(wanted, self._out), wanted)
            stepped = slew_array(self._out, wanted, self.slew_db_per_s * self.hop_s)
            self._out = np.where(moving, stepped, np.where(a.manual_mask, a.manual, self._out))
            if self.mode is Mode.RESTORE and self._at_snapshot():
                self.mode = Mode.FREEZE
            return SafetyReport(out_db=self._out.copy(), held=list(a.held_list), quiet=quiet)

    def quiet(self, active: np.ndarray) -> list[int]:
        """The channels the activity gate holds for this `active` mask (what `process` reports
        as `quiet`), for a hop the stage did not run (a link down, a missed deadline)."""
        with self._lock:
            if self.mode is not Mode.AUTO:
                return []
            return np.flatnonzero(self._gate_mask(self._settings(), active)).tolist()

    @staticmethod
    def _gate_mask(a: _Arrays, active: np.ndarray) -> np.ndarray:
        """Gated channels the model would move (auto, not held or manual) that are inactive."""
        return a.gated & ~(a.held | a.manual_mask) & ~np.asarray(active, dtype=bool)

    def states(self) -> list[str]:
        """Each channel's state value ('auto', 'human', ...), for snapshots."""
        with self._lock:
            return list(self._settings().states)

    def _settings(self) -> _Arrays:
        """The settings as arrays, rebuilt when one changed since the last hop."""
        a = self._arrays
        version = self._changes.count
        if a is None or a.version != version or len(a.states) != len(self.channels):
            a = self._arrays = _Arrays.of(self.channels, version)
        return a

    def at_snapshot(self) -> bool:
        """Every channel the stage may move is back at its snapshot level."""
        with self._lock:
            return self._at_snapshot()

    def _at_snapshot(self) -> bool:
        movable = self._settings().auto
        return bool(np.array_equal(self._out[movable], self.snapshot_db[movable]))

    def _wanted(self, a: _Arrays, model_db: np.ndarray) -> np.ndarray:
        snap = self.snapshot_db
        if self.mode in (Mode.BYPASS, Mode.RESTORE):
            return snap.copy()
        if self.ride == "absolute":
            return np.minimum(np.maximum(model_db + a.offset, a.floor), a.ceiling)
        level = np.minimum(np.maximum(snap + model_db + a.offset, a.floor), a.ceiling)
        ridden = np.minimum(np.maximum(level, snap - a.range), snap + a.range)
        # Closed at soundcheck: a relative ride leaves it closed.
        return np.where(snap <= BOTTOM_DB, snap, ridden)


def slew_array(current: np.ndarray, wanted: np.ndarray, max_step: float) -> np.ndarray:
    """`slew` for every channel at once (elementwise, the same arithmetic)."""
    cur = np.maximum(current, BOTTOM_DB)
    goal = np.maximum(wanted, BOTTOM_DB)
    nxt = cur + np.minimum(np.maximum(goal - cur, -max_step), max_step)
    return np.where((nxt <= BOTTOM_DB) & (wanted <= BOTTOM_DB), wanted, nxt)


def slew(current: float, wanted: float, max_step: float) -> float:
    """One hop from `current` towards `wanted`, at most `max_step` dB; the bottom of the fader
    (<= BOTTOM_DB, -inf) counts as BOTTOM_DB, so a closed fader opens gradually."""
    cur = max(current, BOTTOM_DB)
    goal = max(wanted, BOTTOM_DB)
    nxt = cur + float(np.clip(goal - cur, -max_step, max_step))
    if nxt <= BOTTOM_DB and wanted <= BOTTOM_DB:
        return wanted
    return nxt
