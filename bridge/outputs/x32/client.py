"""GainSink for Behringer X32/M32 over OSC/UDP: rate-limited fader sets, read-back, /xremote.

A fader that changes without us (a person on the surface) is yielded until `release()`.
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType

import numpy as np

from bridge.config import X32_PORT, XREMOTE_RENEW_S
from bridge.outputs.base import HumanMoveCallback
from bridge.outputs.osc import decode_message, encode_message
from bridge.outputs.x32.law import MAX_STEP, db_to_fader_array, fader_step, fader_to_db
from bridge.outputs.x32.models import X32, ConsoleModel

log = logging.getLogger(__name__)

Address = tuple[str, int]
Handler = Callable[[list[object], float], None]
"""Dispatcher entry: (OSC args, receive time) -> None."""

TICK_S = 0.01
"""Worker wake-up period: flushes rate-limited sets and runs the timers."""
QUERY_RETRY_S = 0.25
"""A query without an answer after this long is sent again (UDP loses packets)."""
LOST_PROBE_S = 1.0
"""While the console is lost, /xinfo is sent this often."""


@dataclass
class _Fader:
    """What we know about one driven fader; guarded by the client's lock."""

    address: str
    desired: int | None = None
    """Latest step the engine asked for (latest value wins)."""
    sent: int | None = None
    """Last step we set (or the console's step after a read)."""
    last_send: float = -math.inf
    confirmed: int | None = None
    """Last step the console reported; None = unknown, a read is due."""
    unconfirmed: set[int] = field(default_factory=set)
    """Steps sent since the console last confirmed a value (a stale reply may show any)."""
    query_sent: float | None = None
    """When an unanswered fader query went out."""
    name: str = ""
    name_known: bool = False
    name_query_sent: float | None = None


class X32Client:
    """Drives X32/M32 (or, with `model=XAIR`, X-Air/MR) channel faders; implements `GainSink`."""

    def __init__(
        self,
        host: str,
        port: int = X32_PORT,
        channels: Sequence[int] | None = None,
        on_human_move: HumanMoveCallback | None = None,
        min_interval_s: float = 0.05,
        xremote_renew_s: float = XREMOTE_RENEW_S,
        probe_timeout_s: float = 1.0,
        verify_after_s: float = 0.2,
        heartbeat_s: float = 1.0,
        lost_after_s: float = 3.0,
        model: ConsoleModel = X32,
    ) -> None:
        """`channels[i]` is the console channel (1..32 on an X32) driven by capture channel `i`."""
        chans = list(range(1, model.channels + 1)) if channels is None else list(channels)
        for ch in chans:
            model.check_channel(ch)
        if len(set(chans)) != len(chans):
            raise ValueError(f"console channels must be distinct, got {chans}")
        self.model = model
        self.name = f"{model.label} {host}:{port}"
        self._host = host
        self._port = port
        self._channels = chans
        self.on_human_move = on_human_move
        """Called from the receive thread as (capture index, dB); may be set after construction."""
        self._min_interval_s = min_interval_s
        self._xremote_renew_s = xremote_renew_s
        self._probe_timeout_s = probe_timeout_s
        self._verify_after_s = verify_after_s
        self._heartbeat_s = heartbeat_s
        self._lost_after_s = lost_after_s

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._faders = [_Fader(model.fader_address(ch)) for ch in chans]
        self._overridden: set[int] = set()
        self._phase = "idle"  # idle -> connected -> closed
        self._lost = False
        self._console_info: tuple[str, ...] | None = None
        self._last_rx = -math.inf
        self._last_probe = -math.inf
        self._last_xremote = -math.inf
        self._send_drops = 0

        self._console: Address | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._dispatch: dict[str, Handler] = {"/xinfo": self._on_xinfo}
        for i, ch in enumerate(chans):
            self._dispatch[model.fader_address(ch)] = partial(self._on_fader, i)
            self._dispatch[model.name_address(ch)] = partial(self._on_name, i)

    # --- lifecycle -----------------------------------------------------------------------------

    def connect(self) -> X32Client:
        """Probe with /xinfo, subscribe with /xremote, read names and faders; returns self.

        Raises ConnectionError naming host:port when the console does not answer in time.
        """
        if self._phase != "idle":
            raise RuntimeError(f"{self.name}: connect() called when {self._phase}")
        try:
            info = socket.getaddrinfo(self._host, self._port, socket.AF_INET, socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise ConnectionError(
                f"cannot resolve {self.model.label} host {self._host!r}: {exc}"
            ) from exc
        ip, port = info[0][4][:2]
        self._console = (str(ip), int(port))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("", 0))  # any interface, ephemeral port: the console answers here
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)  # send() must never block: a full buffer drops the datagram
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="x32-client", daemon=True)
        self._thread.start()
        try:
            self._probe()
            self._wait_for_reads(deadline=time.monotonic() + max(self._probe_timeout_s, 1.0))
        except BaseException:
            self.close()
            raise
        return self

    def _probe(self) -> None:
        tries = 3
        per_try = self._probe_timeout_s / tries
        for _ in range(tries):
            self._send_raw([encode_message("/xinfo")])
            with self._changed:
                if self._changed.wait_for(lambda: self._console_info is not None, per_try):
                    self._phase = "connected"
                    self._last_xremote = -math.inf  # the worker subscribes on its next tick
                    log.info("%s answers: %s", self.name, self._console_info)
                    return
        raise ConnectionError(
            f"no answer from {self.model.label} at {self._host}:{self._port} to /xinfo within "
            f"{self._probe_timeout_s:.1f} s ({tries} tries); check the console's IP address, "
            "that it is on this network and that nothing else blocks UDP port "
            f"{self._port}"
        )

    def _wait_for_reads(self, deadline: float) -> None:
        def done() -> bool:
            return all(f.name_known and f.confirmed is not None for f in self._faders)

        with self._changed:
            if not self._changed.wait_for(done, max(0.0, deadline - time.monotonic())):
                missing = [
                    ch
                    for ch, f in zip(self._channels, self._faders, strict=True)
                    if not (f.name_known and f.confirmed is not None)
                ]
                log.warning("%s: channels %s not read yet; still asking", self.name, missing)

    def close(self) -> None:
        """Stop the worker and close the socket; safe to call twice."""
        with self._lock:
            self._phase = "closed"
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> X32Client:
        return self.connect() if self._phase == "idle" else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- GainSink ------------------------------------------------------------------------------

    def send(self, gains_db: np.ndarray, t: float) -> None:
        """Latest gains (dB per capture channel); sets go out now or when the rate limit allows."""
        gains = np.asarray(gains_db, dtype=np.float64)
        if gains.shape != (len(self._faders),):
            raise ValueError(f"{self.name}: expected {len(self._faders)} gains, got {gains.shape}")
        faders = db_to_fader_array(gains)
        now = time.monotonic()
        with self._lock:
            for state, f in zip(self._faders, faders, strict=True):
                if not math.isnan(f):  # a missing level keeps the previous target
                    state.desired = fader_step(float(f))
            out = self._due_sets(now)
        self._send_raw(out)

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Wait until the console confirms the latest level of every driven fader.

        Sets wait out the rate limit and are read back, so this takes a few hundred ms; True
        when every fader (not held by a person) shows what we last asked for.
        """

        def settled() -> bool:
            return self._lost is False and all(
                i in self._overridden or s.desired is None or s.confirmed == s.desired
                for i, s in enumerate(self._faders)
            )

        with self._changed:
            return self._changed.wait_for(settled, timeout=timeout_s)

    def status(self) -> str:
        """One line for the TUI."""
        now = time.monotonic()
        with self._lock:
            where = f"{self._host}:{self._port}"
            if self._phase == "idle":
                return f"not connected {where}"
            if self._phase == "closed":
                return f"closed {where}"
            if self._lost:
                return f"lost (no answer {now - self._last_rx:.1f} s)"
            fresh = now - self._last_xremote <= self._xremote_renew_s + 1.0
            line = f"connected {where}, /xremote {'ok' if fresh else 'late'}"
            if self._overridden:
                chans = ",".join(str(self._channels[i]) for i in sorted(self._overridden))
                line += f", held by hand: ch {chans}"
            if self._send_drops:
                line += f", {self._send_drops} sends dropped"
            return line

    # --- override and state --------------------------------------------------------------------

    @property
    def overridden(self) -> frozenset[int]:
        """Capture channel indices a person has taken over; we do not send to these."""
        with self._lock:
            return frozenset(self._overridden)

    def release(self, index: int) -> None:
        """Give channel `index` back to the engine; its next value is sent from where it is now."""
        with self._lock:
            self._overridden.discard(index)
            state = self._faders[index]
            state.sent = state.confirmed
            state.unconfirmed.clear()

    @property
    def names(self) -> list[str]:
        """Console channel names per capture channel ('' until read)."""
        with self._lock:
            return [f.name for f in self._faders]

    @property
    def local_address(self) -> Address | None:
        """(host, port) our socket is bound to; the console answers here."""
        sock = self._sock
        if sock is None:
            return None
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._phase == "connected" and not self._lost

    def console_fader(self, index: int) -> float | None:
        """Last fader value the console reported for capture channel `index`."""
        with self._lock:
            step = self._faders[index].confirmed
        return None if step is None else step / MAX_STEP

    def console_db(self, index: int) -> float | None:
        f = self.console_fader(index)
        return None if f is None else fader_to_db(f)

    # --- worker: receive, dispatch, timers -----------------------------------------------------

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], TICK_S)
            except (OSError, ValueError):
                break
            if ready:
                self._drain(sock)
            try:
                self._tick(time.monotonic())
            except Exception:
                log.exception("%s: timer error", self.name)

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(256):  # bounded, so a flood cannot starve the timers
            try:
                data, sender = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("%s: receive error ignored: %s", self.name, exc)
                return
            if (str(sender[0]), int(sender[1])) != self._console:
                log.debug("%s: packet from stranger %s:%d ignored", self.name, *sender[:2])
                continue
            try:
                address, args = decode_message(data)
            except ValueError as exc:
                log.debug("%s: malformed packet ignored: %s", self.name, exc)
                continue
            now = time.monotonic()
            self._heard(now)
            handler = self._dispatch.get(address)
            if handler is None:
                log.debug("%s: unhandled %s %s", self.name, address, args)
                continue
            try:
                handler(args, now)
            except Exception:
                log.exception("%s: handler for %s failed", self.name, address)

    def _heard(self, now: float) -> None:
        with self._lock:
            self._last_rx = now
            if not self._lost:
                return
            self._lost = False
            log.warning("%s: console is back; re-reading state", self.name)
            # The console may have rebooted or been moved: forget what we thought it had.
            for state in self._faders:
                state.confirmed = None
                state.sent = None
                state.unconfirmed.clear()
                state.query_sent = None
                state.name_known = False
                state.name_query_sent = None
            self._last_xremote = -math.inf

    def _tick(self, now: float) -> None:
        out: list[bytes] = []
        with self._lock:
            if self._phase != "connected":
                return
            silence = now - self._last_rx
            if not self._lost and silence > self._lost_after_s:
                self._lost = True
                log.warning("%s: no answer for %.1f s", self.name, silence)
            if self._lost:
                if now - self._last_probe >= LOST_PROBE_S:
                    self._last_probe = now
                    out.append(encode_message("/xinfo"))
            else:
                if silence >= self._heartbeat_s and now - self._last_probe >= self._heartbeat_s:
                    self._last_probe = now
                    out.append(encode_message("/xinfo"))
                if now - self._last_xremote >= self._xremote_renew_s:
                    self._last_xremote = now
                    out.append(encode_message("/xremote"))
                out += self._due_queries(now)
                out += self._due_sets(now)
        self._send_raw(out)

    def _due_sets(self, now: float) -> list[bytes]:
        """Fader sets allowed now (call with the lock held)."""
        if self._phase != "connected" or self._lost:
            return []
        out = []
        for i, state in enumerate(self._faders):
            if (
                i in self._overridden
                or state.desired is None
                or state.confirmed is None  # still reading what the console has
                or state.desired == state.sent
                or now - state.last_send < self._min_interval_s
            ):
                continue
            state.sent = state.desired
            state.last_send = now
            state.unconfirmed.add(state.desired)
            out.append(encode_message(state.address, state.desired / MAX_STEP))
        return out

    def _due_queries(self, now: float) -> list[bytes]:
        """Reads of unknown names/faders and read-backs of settled sets (lock held)."""
        out = []
        for i, state in enumerate(self._faders):
            if not state.name_known and _retry_due(state.name_query_sent, now):
                state.name_query_sent = now
                out.append(encode_message(self.model.name_address(self._channels[i])))
            unknown = state.confirmed is None
            # UDP may have lost our last set; once the fader is quiet, read it back.
            unverified = (
                bool(state.unconfirmed)
                and i not in self._overridden
                and now - state.last_send >= self._verify_after_s
            )
            if (unknown or unverified) and _retry_due(state.query_sent, now):
                state.query_sent = now
                out.append(encode_message(state.address))
        return out

    # --- handlers (worker thread) --------------------------------------------------------------

    def _on_xinfo(self, args: list[object], now: float) -> None:
        with self._changed:
            self._console_info = tuple(str(a) for a in args)
            self._changed.notify_all()

    def _on_name(self, index: int, args: list[object], now: float) -> None:
        if not args or not isinstance(args[0], str):
            return
        with self._changed:
            state = self._faders[index]
            state.name = args[0]
            state.name_known = True
            state.name_query_sent = None
            self._changed.notify_all()

    def _on_fader(self, index: int, args: list[object], now: float) -> None:
        if not args or isinstance(args[0], bool) or not isinstance(args[0], float | int):
            return
        step = fader_step(float(args[0]))
        moved = False
        with self._changed:
            state = self._faders[index]
            is_reply = state.query_sent is not None
            state.query_sent = None
            before = state.confirmed
            state.confirmed = step
            if before is None:
                # A read: this is where the console is; nothing of ours is in flight.
                state.sent = step
                state.unconfirmed.clear()
            elif step == state.sent:
                state.unconfirmed.clear()
            elif is_reply and (step == before or step in state.unconfirmed):
                # The console still shows an older value: our last set was lost. Send again.
                state.sent = step
                state.unconfirmed.clear()
            else:
                # Not ours and not a read-back: a person moved the fader (or another client).
                moved = index not in self._overridden or step != before
                self._overridden.add(index)
                state.unconfirmed.clear()
            self._changed.notify_all()
        if moved:
            log.info("%s: ch %d moved by hand", self.name, self._channels[index])
            callback = self.on_human_move
            if callback is not None:
                try:
                    callback(index, fader_to_db(step / MAX_STEP))
                except Exception:
                    log.exception("%s: on_human_move callback failed", self.name)

    # --- transport -----------------------------------------------------------------------------

    def _send_raw(self, messages: list[bytes]) -> None:
        sock, console = self._sock, self._console
        if sock is None or console is None:
            return
        for msg in messages:
            try:
                sock.sendto(msg, console)
            except (BlockingIOError, InterruptedError):
                with self._lock:
                    self._send_drops += 1
            except OSError as exc:
                log.debug("%s: send failed: %s", self.name, exc)


def _retry_due(sent_at: float | None, now: float) -> bool:
    return sent_at is None or now - sent_at >= QUERY_RETRY_S
