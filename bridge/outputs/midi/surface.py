"""GainSink for MIDI control surfaces: Mackie Control (14-bit faders, touch, banks) and generic CC.

One worker thread owns the port: `send()` only records the latest levels and wakes it. A fader
value that comes back and is not one we sent recently, or a touch from the other side, means a
person has the fader: that channel is yielded until released (by us, or by the fader brought back
to where we last put it). The bookkeeping is the shared fader-link core (bridge.outputs.link).
MIDI has no heartbeat and no way to read a fader at connect: the link is live at once, and a
dead port or worker is a fault. With more tracks than one Mackie
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
from bridge.outputs.link import (
    FaderLink,
    FaderState,
    LinkedOutput,
    LinkState,
    ReceiveGuard,
)
from bridge.outputs.midi.law import FaderLaw, db_to_value, value_to_db
from bridge.outputs.midi.mappings import Incoming, MackieMapping, Mapping
from bridge.outputs.midi.ports import MidiPort

log = logging.getLogger(__name__)

TICK_S = 0.005
RECENT_S = 1.0
"""Values we sent are remembered this long, so echoes are not taken for a person."""


class MidiSurface(LinkedOutput[FaderState]):
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
        self.name = name or f"MIDI {port.name}"
        self._port = port
        self._map = mapping
        self._law = law
        self._min_interval_s = min_interval_s
        self._touch_release_s = touch_release_s
        self._touch = isinstance(mapping, MackieMapping)
        self._faders = [FaderState(t) for t in mapping.tracks]
        self._index = {t: i for i, t in enumerate(mapping.tracks)}
        self.link: FaderLink[FaderState] = FaderLink(
            self.name,
            self._faders,
            lambda v: value_to_db(law, int(v), mapping.max_value),
            tol=mapping.tolerance,
            listen=listen,
        )
        self.link.state = LinkState.LIVE  # nothing to read first: the surface shows no positions
        self.link.on_human_move = on_human_move
        self.guard: ReceiveGuard[bytes] = ReceiveGuard(self.name, bytes)
        """Counts and rate-limits the log of what cannot be decoded."""
        self._overridden = self.link.overridden
        self._lock = self.link.lock
        self._changed = self.link.changed
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: str | None = None
        self._port.send(mapping.open_messages())
        self._thread = threading.Thread(
            target=self.link.run_guarded(self._run), name="midi-surface", daemon=True
        )
        self._thread.start()

    # --- GainSink ------------------------------------------------------------------------------

    def send(self, gains_db: np.ndarray, t: float) -> None:
        gains = np.asarray(gains_db, dtype=np.float64)
        if gains.shape != (len(self._faders),):
            raise ValueError(f"{self.name}: expected {len(self._faders)} gains, got {gains.shape}")
        with self._lock:
            for i, g in enumerate(gains):
                if not math.isnan(g):
                    self.link.want(i, db_to_value(self._law, float(g), self._map.max_value))
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
            if self.link.listen:
                line += ", listening (no sets)"
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

    def release(self, index: int) -> None:
        super().release(index)
        self._wake.set()  # the worker sends the released fader's next value at once

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
                self._absorb(incoming, time.monotonic())
                with self._changed:
                    out = self._due(time.monotonic())
                    self._changed.notify_all()
                self._port.send(out)
            except Exception as exc:  # a closed socket, an unplugged device
                with self._changed:
                    self._error = str(exc) or type(exc).__name__
                    self.link.died(f"MIDI port failed: {self._error}")
                return
            self.link.fire()

    def _absorb(self, messages: list[bytes], now: float) -> None:
        with self._lock:
            for data in messages:
                try:
                    got = self._map.decode(data, now)
                except Exception as exc:  # bytes no mapping expects: dropped, never fatal
                    self.guard.drop(type(exc).__name__, data.hex()[:16])
                    continue
                if got is not None and got.track is not None and got.track in self._index:
                    self._on_incoming(self._index[got.track], got, now)

    def _on_incoming(self, index: int, got: Incoming, now: float) -> None:
        """Take what the surface reported (lock held)."""
        f = self._faders[index]
        tol = self._map.tolerance
        if got.touched is not None:
            if got.touched and index not in self._overridden:
                # A finger on a motor fader: theirs now, at its last known position.
                value = f.confirmed if f.confirmed is not None else f.sent
                self.link.person(index, value if value is not None else 0)
            return
        value = got.value
        assert value is not None
        if index in self._overridden or not f.is_ours(value, tol):
            shared = [self._faders[self._index[t]] for t in got.shared if t in self._index]
            if any(other.is_ours(value, tol) for other in shared):
                return  # a late echo from the bank before
            if got.settling and any(
                o.confirmed is None or abs(o.confirmed - value) <= tol for o in shared
            ):
                return  # may be the bank before, still being shown: ambiguous, ignored
        if index in self._overridden:
            self.link.person(index, value)  # theirs: every move counts (and a return releases)
        elif f.report(value, tol, self._map.first_report_is_read):
            self.link.person(index, value)

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
            if f.desired is not None and f.desired != f.sent and quiet and self.link.accepting:
                if self._touch and not f.touched:
                    f.touched = True
                    touches.append((f.target, True))
                moves.append((f.target, int(f.desired)))
                f.remember(f.desired, now)
            elif f.touched and now - f.last_send >= self._touch_release_s:
                f.touched = False
                touches.append((f.target, False))
        return self._map.plan(moves, touches) if moves or touches else []
