"""GainSink for MIDI control surfaces: Mackie Control (14-bit faders, touch, banks) and generic CC.

One worker thread owns the port: `send()` only records the latest levels and wakes it. A fader
value that comes back and is not one we sent recently, or a touch from the other side, means a
person has the fader: that channel is yielded until `release()`. With more tracks than one Mackie
bank, the protocol does not say which bank a value belongs to: right after a switch, a value that
may still show the bank before is ignored, so a person is seen on the bank in view.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from types import TracebackType

import numpy as np

from bridge.outputs.base import HumanMoveCallback
from bridge.outputs.link import FaderState
from bridge.outputs.midi.law import FaderLaw, db_to_value, value_to_db
from bridge.outputs.midi.mappings import Incoming, MackieMapping, Mapping
from bridge.outputs.midi.ports import MidiPort

log = logging.getLogger(__name__)

TICK_S = 0.005
RECENT_S = 1.0
"""Values we sent are remembered this long, so echoes are not taken for a person."""


class MidiSurface:
    """Moves surface (or host) faders from gains in dB through a mapping and a law."""

    def __init__(
        self,
        port: MidiPort,
        mapping: Mapping,
        law: FaderLaw,
        *,
        on_human_move: HumanMoveCallback | None = None,
        min_interval_s: float = 0.05,
        touch_release_s: float = 0.3,
        name: str = "",
        listen: bool = False,
    ) -> None:
        """Capture channel `i` drives `mapping.tracks[i]`. The port is owned (closed) by us.

        `listen`: read and report the surface, never move a fader.
        """
        self.listen = listen
        self.name = name or f"MIDI {port.name}"
        self.on_human_move = on_human_move
        """Called from the worker as (capture index, dB); may be set after construction."""
        self._port = port
        self._map = mapping
        self._law = law
        self._min_interval_s = min_interval_s
        self._touch_release_s = touch_release_s
        self._touch = isinstance(mapping, MackieMapping)
        self._faders = [FaderState(t) for t in mapping.tracks]
        self._index = {t: i for i, t in enumerate(mapping.tracks)}
        self._overridden: set[int] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: str | None = None
        self._port.send(mapping.open_messages())
        self._thread = threading.Thread(target=self._run, name="midi-surface", daemon=True)
        self._thread.start()

    # --- GainSink ------------------------------------------------------------------------------

    def send(self, gains_db: np.ndarray, t: float) -> None:
        gains = np.asarray(gains_db, dtype=np.float64)
        if gains.shape != (len(self._faders),):
            raise ValueError(f"{self.name}: expected {len(self._faders)} gains, got {gains.shape}")
        if self.listen:
            return
        with self._lock:
            for f, g in zip(self._faders, gains, strict=True):
                if not math.isnan(g):
                    f.desired = db_to_value(self._law, float(g), self._map.max_value)
        self._wake.set()

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Wait until every level is sent and every touch released."""

        def settled() -> bool:
            return all(
                i in self._overridden
                or ((f.desired is None or f.sent == f.desired) and not f.touched)
                for i, f in enumerate(self._faders)
            )

        self._wake.set()
        with self._changed:
            return self._changed.wait_for(settled, timeout=timeout_s)

    def status(self) -> str:
        with self._lock:
            if self._error:
                return f"error: {self._error}"
            line = f"open {self._port.name}"
            if isinstance(self._map, MackieMapping):
                line += f", bank at track {self._map.offset + 1}"
            if self._overridden:
                held = ",".join(str(self._faders[i].target) for i in sorted(self._overridden))
                line += f", held by hand: {held}"
            return line

    def close(self) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            touches = [(f.target, False) for f in self._faders if f.touched]
            for f in self._faders:
                f.touched = False
            out = self._map.plan([], touches) if touches else []
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2.0)
        try:
            self._port.send(out)
        except Exception as exc:  # the other side may be gone already
            log.debug("%s: last touch release failed: %s", self.name, exc)
        self._port.close()

    def __enter__(self) -> MidiSurface:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- override ------------------------------------------------------------------------------

    @property
    def overridden(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._overridden)

    def release(self, index: int) -> None:
        with self._lock:
            self._overridden.discard(index)
            f = self._faders[index]
            f.sent = f.confirmed
            f.recent.clear()
        self._wake.set()

    def surface_value(self, index: int) -> int | None:
        """Last value the other side reported for capture channel `index`."""
        with self._lock:
            value = self._faders[index].confirmed
        return None if value is None else int(value)

    # --- worker --------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK_S)
            self._wake.clear()
            try:
                incoming = self._port.receive()
                moved = self._absorb(incoming, time.monotonic())
                with self._changed:
                    out = self._due(time.monotonic())
                    self._changed.notify_all()
                self._port.send(out)
            except Exception as exc:  # a closed socket, an unplugged device
                with self._changed:
                    self._error = str(exc) or type(exc).__name__
                    self._changed.notify_all()
                log.error("%s: %s", self.name, self._error)
                return
            for index, value in moved:
                self._report(index, value)

    def _absorb(self, messages: list[bytes], now: float) -> list[tuple[int, int]]:
        moved: list[tuple[int, int]] = []
        with self._lock:
            for data in messages:
                got = self._map.decode(data, now)
                if got is not None and got.track is not None:
                    index = self._index[got.track]
                    if self._on_incoming(index, got, now):
                        moved.append((index, int(self._faders[index].confirmed or 0)))
        return moved

    def _on_incoming(self, index: int, got: Incoming, now: float) -> bool:
        """True when a person just took this fader (lock held)."""
        f = self._faders[index]
        tol = self._map.tolerance
        if got.touched is not None:
            if not got.touched or index in self._overridden:
                return False
            self._overridden.add(index)  # a finger on a motor fader: theirs now
            return True
        value = got.value
        assert value is not None
        if not f.is_ours(value, tol):
            shared = [self._faders[self._index[t]] for t in got.shared if t in self._index]
            if any(other.is_ours(value, tol) for other in shared):
                return False  # a late echo from the bank before
            if got.settling and any(
                o.confirmed is None or abs(o.confirmed - value) <= tol for o in shared
            ):
                return False  # may be the bank before, still being shown: ambiguous, ignored
        if not f.report(value, tol, self._map.first_report_is_read):
            return False
        new = index not in self._overridden
        self._overridden.add(index)
        return new

    def _due(self, now: float) -> list[bytes]:
        moves: list[tuple[int, int]] = []
        touches: list[tuple[int, bool]] = []
        for i, f in enumerate(self._faders):
            f.forget_before(now - RECENT_S)
            if i in self._overridden:
                if f.touched:
                    f.touched = False
                    touches.append((f.target, False))
                continue
            quiet = now - f.last_send >= self._min_interval_s
            if f.desired is not None and f.desired != f.sent and quiet:
                if self._touch and not f.touched:
                    f.touched = True
                    touches.append((f.target, True))
                moves.append((f.target, int(f.desired)))
                f.remember(f.desired, now)
            elif f.touched and now - f.last_send >= self._touch_release_s:
                f.touched = False
                touches.append((f.target, False))
        return self._map.plan(moves, touches) if moves or touches else []

    def _report(self, index: int, value: int) -> None:
        log.info("%s: track %d moved by hand", self.name, self._faders[index].target)
        callback = self.on_human_move
        if callback is not None:
            try:
                callback(index, value_to_db(self._law, value, self._map.max_value))
            except Exception:
                log.exception("%s: on_human_move callback failed", self.name)
