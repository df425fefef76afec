"""What the pictures are drawn from: every hop's model proposal, sent gain, channel states and
desk mode, kept beside the gains CSV as one compact `trace.npz`.

`attach(show)` starts recording (a listener on the engine thread: appends only); `write`
saves it with each channel's floor and ceiling and the song's sections when known.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.engine import HopSnapshot
from bridge.show import Show

TRACE_NAME = "trace.npz"
STATES = ("auto", "locked", "manual", "human", "protected")
"""Channel states by code (an unknown state is stored as its index past these)."""
MODES = ("auto", "freeze", "bypass", "restore")

_TRACES: weakref.WeakKeyDictionary[Show, GainTrace] = weakref.WeakKeyDictionary()


@dataclass
class Trace:
    """A show's gains over time, as read back for a plot."""

    names: list[str]
    t: np.ndarray
    """(hops,) seconds: the time each gain took effect."""
    sent_db: np.ndarray
    """(hops, channels) what the outputs were sent."""
    model_db: np.ndarray | None = None
    """(hops, channels) what the gain source proposed (None when only a gains CSV is known)."""
    states: np.ndarray | None = None
    """(hops, channels) codes into `state_names`."""
    modes: np.ndarray | None = None
    """(hops,) codes into `mode_names`."""
    floor_db: np.ndarray | None = None
    ceiling_db: np.ndarray | None = None
    sections: list[dict[str, Any]] = field(default_factory=list)
    """The song's sections: {'name', 'start_s', 'end_s'}."""
    state_names: list[str] = field(default_factory=lambda: list(STATES))
    mode_names: list[str] = field(default_factory=lambda: list(MODES))
    title: str = ""

    def held(self) -> np.ndarray:
        """(hops, channels) True where the model was not driving the channel (locked, manual,
        a person's hold, protected)."""
        if self.states is None:
            return np.zeros(self.sent_db.shape, bool)
        return self.states != self.state_names.index("auto")

    def frozen(self) -> np.ndarray:
        """(hops,) True while the whole desk was frozen (or restoring, then frozen)."""
        if self.modes is None:
            return np.zeros(len(self.t), bool)
        codes = [i for i, m in enumerate(self.mode_names) if m in ("freeze", "restore")]
        return np.isin(self.modes, codes)

    def bypassed(self) -> np.ndarray:
        if self.modes is None or "bypass" not in self.mode_names:
            return np.zeros(len(self.t), bool)
        return self.modes == self.mode_names.index("bypass")


class GainTrace:
    """Records every hop of one show (engine thread: appends; any thread: `trace`)."""

    def __init__(self, names: list[str], hop_s: float) -> None:
        self.names = list(names)
        self.hop_s = hop_s
        self._t: list[float] = []
        self._model: list[np.ndarray] = []
        self._sent: list[np.ndarray] = []
        self._states: list[list[int]] = []
        self._modes: list[int] = []
        self._state_names = list(STATES)
        self._mode_names = list(MODES)
        self._lock = threading.Lock()

    def on_hop(self, snap: HopSnapshot) -> None:
        states = [self._code(self._state_names, s) for s in snap.states]
        mode = self._code(self._mode_names, snap.mode)
        with self._lock:
            # The gain decided on hop t takes effect at the start of hop t+1 (snap.t).
            self._t.append(snap.t)
            self._model.append(np.asarray(snap.model_db, np.float32))
            self._sent.append(np.asarray(snap.sent_db, np.float32))
            self._states.append(states)
            self._modes.append(mode)

    @staticmethod
    def _code(names: list[str], value: str) -> int:
        if value not in names:
            names.append(value)
        return names.index(value)

    def trace(
        self,
        floor_db: list[float] | None = None,
        ceiling_db: list[float] | None = None,
        sections: list[dict[str, Any]] | None = None,
        title: str = "",
    ) -> Trace:
        n = len(self.names)
        with self._lock:
            t = np.asarray(self._t, np.float64)
            model = np.stack(self._model) if self._model else np.zeros((0, n), np.float32)
            sent = np.stack(self._sent) if self._sent else np.zeros((0, n), np.float32)
            states = np.asarray(self._states, np.uint8).reshape(len(self._t), n)
            modes = np.asarray(self._modes, np.uint8)
            state_names, mode_names = list(self._state_names), list(self._mode_names)
        return Trace(
            names=self.names,
            t=t,
            sent_db=sent,
            model_db=model,
            states=states,
            modes=modes,
            floor_db=None if floor_db is None else np.asarray(floor_db, float),
            ceiling_db=None if ceiling_db is None else np.asarray(ceiling_db, float),
            sections=list(sections or []),
            state_names=state_names,
            mode_names=mode_names,
            title=title,
        )


def attach(show: Show) -> GainTrace:
    """Start recording `show`'s hops (once per show)."""
    trace = _TRACES.get(show)
    if trace is None:
        trace = _TRACES[show] = GainTrace(show.names, show.engine.hop_s)
        show.add_listener(trace.on_hop)
    return trace


def trace_of(show: Show, sections: list[dict[str, Any]] | None = None) -> Trace | None:
    """What `attach` recorded for `show`, with its channels' final floor and ceiling."""
    rec = _TRACES.get(show)
    if rec is None:
        return None
    chans = show.engine.safety.channels
    return rec.trace(
        [c.floor_db for c in chans], [c.ceiling_db for c in chans], sections, show.title
    )


def song_sections(source: object) -> list[dict[str, Any]]:
    """The song's sections when the show plays a song that knows them (else none)."""
    song = getattr(source, "song", None)
    meta = getattr(song, "meta", None)
    extra = getattr(meta, "extra", None) or {}
    sections = extra.get("sections") if isinstance(extra, dict) else None
    if not isinstance(sections, list):
        return []
    return [s for s in sections if isinstance(s, dict) and {"name", "start_s", "end_s"} <= s.keys()]


def write(trace: Trace, path: Path) -> Path:
    """Save `trace` (compressed; float32 gains)."""
    arrays: dict[str, Any] = {"t": trace.t, "sent_db": trace.sent_db}
    for key in ("model_db", "states", "modes", "floor_db", "ceiling_db"):
        value = getattr(trace, key)
        if value is not None:
            arrays[key] = value
    meta = {
        "names": trace.names,
        "sections": trace.sections,
        "state_names": trace.state_names,
        "mode_names": trace.mode_names,
        "title": trace.title,
    }
    with path.open("wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
    return path


def read(path: Path) -> Trace:
    """A trace `write` saved."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        opt = {
            k: data[k]
            for k in ("model_db", "states", "modes", "floor_db", "ceiling_db")
            if k in data
        }
        return Trace(
            names=list(meta["names"]),
            t=data["t"],
            sent_db=data["sent_db"],
            sections=list(meta.get("sections", [])),
            state_names=list(meta.get("state_names", STATES)),
            mode_names=list(meta.get("mode_names", MODES)),
            title=str(meta.get("title", "")),
            **opt,
        )
