"""GainSink for Behringer X32/M32 (and X-Air/MR) over OSC/UDP: the X32 transport and dispatch
around the shared fader-link core (bridge.outputs.link).

Every driven fader is read before the first set; /xinfo is the heartbeat (every 250 ms: silence
for 0.75 s is a lost link: nothing is sent until every fader has been re-read); /xremote shows a
person's moves, which are yielded until released (by us, by the fader brought back to where we
last put it, or by the channel's select button on the surface).

Fader and name queries go out from a second socket, so their replies come back apart from the
/xremote pushes: the console never echoes our own sets, so a push that is not our last set is a
person's, whatever levels the model passed through, and a read-back is never taken for a move.
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType

import numpy as np

from bridge.config import X32_PORT, XREMOTE_RENEW_S
from bridge.outputs.base import HumanMoveCallback
from bridge.outputs.link import (
    FaderLink,
    FaderState,
    LinkedOutput,
    LinkState,
    ReceiveGuard,
)
from bridge.outputs.osc import decode_message, encode_message
from bridge.outputs.x32.law import MAX_STEP, db_to_fader_array, fader_step, fader_to_db
from bridge.outputs.x32.models import X32, ConsoleModel

log = logging.getLogger(__name__)

Address = tuple[str, int]
Handler = Callable[[list[object], float, bool], None]
"""Dispatcher entry: (OSC args, receive time, came to the reads socket) -> None."""

TICK_S = 0.01
"""Worker wake-up period: flushes rate-limited sets and runs the timers."""
QUERY_RETRY_S = 0.25
"""A query without an answer after this long is sent again (UDP loses packets)."""
READBACK_DEPTH = 8
"""A read-back may show one of our last this many sets before the query (the later ones lost):
eight lost in a row is a 1-in-10^8 event at 10 % loss, and then the fader is held, not fought."""
SELECT_ADDRESS = "/-stat/selidx"
"""The surface's selected channel (int, 0-based), pushed to /xremote subscribers."""


def _step_db(step: float) -> float:
    return fader_to_db(step / MAX_STEP)


@dataclass
class X32Fader(FaderState):
    """A driven X32 fader: the core's state plus the queries in flight (values are steps)."""

    address: str = ""
    query_sent: float | None = None
    """When an unanswered fader query went out (retries wait on it)."""
    asked_at: float = -math.inf
    """When the oldest fader query not answered yet went out: a reply may answer it, so it shows
    no set sent after then (on a busy machine a reply can be handled after later sets)."""
    name_known: bool = False
    name_query_sent: float | None = None


class X32Client(LinkedOutput[X32Fader]):
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
        heartbeat_s: float = 0.25,
        lost_after_s: float = 0.75,
        model: ConsoleModel = X32,
        resync: str = "hold",
        listen: bool = False,
    ) -> None:
        """`channels[i]` is the console channel (1..32 on an X32) driven by capture channel `i`.

        `resync`: 'hold' (a fader changed while the link was down is a person's) or 'adopt'.
        `listen`: read and report only, never set a fader.
        """
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
        self._min_interval_s = min_interval_s
        self._xremote_renew_s = xremote_renew_s
        self._probe_timeout_s = probe_timeout_s
        self._verify_after_s = verify_after_s
        self._heartbeat_s = heartbeat_s

        self._faders = [X32Fader(ch, address=model.fader_address(ch)) for ch in chans]
        self.link: FaderLink[X32Fader] = FaderLink(
            self.name,
            self._faders,
            _step_db,
            lost_after_s=lost_after_s,
            resync=resync,
            listen=listen,
        )
        self.link.on_human_move = on_human_move
        self.guard = ReceiveGuard(self.name, decode_message)
        self._lock = self.link.lock
        self._changed = self.link.changed
        self._phase = "idle"  # idle -> open -> closed
        self._console_info: tuple[str, ...] | None = None
        self._last_probe = -math.inf
        self._last_xremote = -math.inf
        self._send_drops = 0

        self._console: Address | None = None
        self._sock: socket.socket | None = None
        self._reads: socket.socket | None = None
        """Queries go out here, so replies come back apart from /xremote pushes."""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._dispatch: dict[str, Handler] = {
            "/xinfo": self._on_xinfo,
            SELECT_ADDRESS: self._on_select,
        }
        for i, ch in enumerate(chans):
            self._dispatch[model.fader_address(ch)] = partial(self._on_fader, i)
            self._dispatch[model.name_address(ch)] = partial(self._on_name, i)

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
        socks = []
        try:
            for _ in range(2):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("", 0))  # any interface, ephemeral port: the console answers here
                sock.setblocking(False)  # never block: a full buffer drops the datagram
        except OSError:
            for sock in socks:
                sock.close()
            raise
        self._sock, self._reads = socks
        self._phase = "open"
        self._thread = threading.Thread(
            target=self.link.run_guarded(self._run), name="x32-client", daemon=True
        )
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
            return self.link.state is not LinkState.CONNECTING and all(
                f.name_known for f in self._faders
            )

        with self._changed:
            if not self._changed.wait_for(done, max(0.0, deadline - time.monotonic())):
                missing = [
                    f.target for f in self._faders if not (f.name_known and f.confirmed is not None)
                ]
                log.warning(
                    "%s: channels %s not read yet; still asking, nothing is set before",
                    self.name,
                    missing,
                )

    def close(self) -> None:
        """Stop the worker and close the socket; safe to call twice."""
        with self._lock:
            self._phase = "closed"
            if self.link.state is not LinkState.FAULT:
                self.link.state = LinkState.CLOSED
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        for sock in (self._sock, self._reads):
            if sock is not None:
                sock.close()
        self._sock = self._reads = None

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
        """Latest gains (dB per capture channel); sets go out now or when the rate limit allows.

        Ignored while the link is not live (connecting, lost, resyncing, fault) or in listen mode.
        """
        gains = np.asarray(gains_db, dtype=np.float64)
        if gains.shape != (len(self._faders),):
            raise ValueError(f"{self.name}: expected {len(self._faders)} gains, got {gains.shape}")
        faders = db_to_fader_array(gains)
        now = time.monotonic()
        with self._lock:
            for i, f in enumerate(faders):
                if not math.isnan(f):  # a missing level keeps the previous target
                    self.link.want(i, fader_step(float(f)))
            out = self._due_sets(now)
        self._send_raw(out)

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Wait until the console confirms the latest level of every driven fader.

        Sets wait out the rate limit and are read back, so this takes a few hundred ms; True
        when every fader (not held by a person) shows what we last asked for.
        """

        def settled() -> bool:
            return self.link.state is LinkState.LIVE and all(
                i in self.link.overridden or s.desired is None or s.confirmed == s.desired
                for i, s in enumerate(self._faders)
            )

        with self._changed:
            return self._changed.wait_for(settled, timeout=timeout_s)

    def status(self) -> str:
        """One line for the TUI."""
        now = time.monotonic()
        with self._lock:
            where = f"{self._host}:{self._port}"
            state = self.link.state
            if self._phase == "idle":
                return f"not connected {where}"
            if state is LinkState.FAULT:
                return f"FAULT {where}: {self.link.fault}"
            if self._phase == "closed":
                return f"closed {where}"
            if state is LinkState.LOST:
                return f"lost (no answer {now - self.link.last_rx:.1f} s)"
            if state is not LinkState.LIVE:
                return f"{state.value} {where}"
            fresh = now - self._last_xremote <= self._xremote_renew_s + 1.0
            line = f"connected {where}, /xremote {'ok' if fresh else 'late'}"
            if self.link.listen:
                line += ", listening (no sets)"
            if self.link.overridden:
                chans = ",".join(str(self._channels[i]) for i in sorted(self.link.overridden))
                line += f", held by hand: ch {chans}"
            if self._send_drops:
                line += f", {self._send_drops} sends dropped"
        dropped = self.guard.total_dropped
        if dropped:
            line += f", {dropped} datagrams dropped"
        return line

    # --- override and state --------------------------------------------------------------------

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
            return self._phase == "open" and self.link.state is LinkState.LIVE

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
        sock, reads = self._sock, self._reads
        assert sock is not None and reads is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock, reads], [], [], TICK_S)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                raise
            for r in ready:
                self._drain(r, replies=r is reads)
            self._tick(time.monotonic())
            self.link.fire()

    def _drain(self, sock: socket.socket, replies: bool) -> None:
        for _ in range(256):  # bounded, so a flood cannot starve the timers
            try:
                data, sender = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("%s: receive error ignored: %s", self.name, exc)
                return
            message = self.guard.accept(data, sender, self._console)
            if message is None:
                continue
            address, args = message
            now = time.monotonic()
            self._heard(now)
            handler = self._dispatch.get(address)
            if handler is None:
                continue
            try:
                handler(args, now, replies)
            except Exception as exc:  # a well-formed message with arguments we cannot use
                self.guard.drop(f"handler {address}", f"{type(exc).__name__}: {exc}")
            self.link.fire()

    def _heard(self, now: float) -> None:
        with self._lock:
            if not self.link.heard(now):
                return
            # The console may have rebooted or been moved: forget what we thought it had.
            for state in self._faders:
                state.query_sent = None
                state.name_known = False
                state.name_query_sent = None
            self._last_xremote = -math.inf

    def _tick(self, now: float) -> None:
        out: list[bytes] = []
        reads: list[bytes] = []
        with self._lock:
            if self._phase != "open" or self.link.state is LinkState.FAULT:
                return
            self.link.check_silence(now)
            if now - self._last_probe >= self._heartbeat_s:
                self._last_probe = now
                out.append(encode_message("/xinfo"))
            if self._console_info is not None and self.link.state is not LinkState.LOST:
                if now - self._last_xremote >= self._xremote_renew_s:
                    self._last_xremote = now
                    out.append(encode_message("/xremote"))
                reads = self._due_queries(now)
                out += self._due_sets(now)
        self._send_raw(out)
        self._send_raw(reads, self._reads)

    def _due_sets(self, now: float) -> list[bytes]:
        """Fader sets allowed now (call with the lock held)."""
        if self._phase != "open" or not self.link.accepting:
            return []
        out = []
        for i, state in enumerate(self._faders):
            if i in self.link.overridden:
                restore = self.link.take_restore(i)
                if restore is not None:  # our set landed after a person's hand: theirs again
                    out.append(encode_message(state.address, restore / MAX_STEP))
                continue
            if (
                state.desired is None
                or state.confirmed is None  # still reading what the console has
                or state.desired == state.sent
                or now - state.last_send < self._min_interval_s
            ):
                continue
            step = int(state.desired)
            state.remember(step, now)
            out.append(encode_message(state.address, step / MAX_STEP))
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
                bool(state.pending)
                and i not in self.link.overridden
                and now - state.last_send >= self._verify_after_s
            )
            # A person took it while sets of ours were in flight: read whether one landed after.
            late = bool(state.late) and i in self.link.overridden and state.restore is None
            if (unknown or unverified or late) and _retry_due(state.query_sent, now):
                if state.query_sent is None:  # a retry may be answered by the first query's reply
                    state.asked_at = now
                state.query_sent = now
                out.append(encode_message(state.address))
        return out

    # --- handlers (worker thread) --------------------------------------------------------------

    def _on_xinfo(self, args: list[object], now: float, replies: bool) -> None:
        with self._changed:
            self._console_info = tuple(str(a) for a in args)
            self._changed.notify_all()

    def _on_name(self, index: int, args: list[object], now: float, replies: bool) -> None:
        if not args or not isinstance(args[0], str):
            return
        with self._changed:
            state = self._faders[index]
            state.name = args[0]
            state.name_known = True
            state.name_query_sent = None
            self._changed.notify_all()

    def _on_select(self, args: list[object], now: float, replies: bool) -> None:
        """A channel's select button on the surface hands a held fader back to the model."""
        if not args or isinstance(args[0], bool) or not isinstance(args[0], int):
            return
        ch = args[0] + 1
        if ch in self._channels:
            with self._changed:
                self.link.hand_back(self._channels.index(ch))

    def _on_fader(self, index: int, args: list[object], now: float, reply: bool) -> None:
        """A fader value: a reply to our query (`reply`, on the reads socket) or a push."""
        if not args or isinstance(args[0], bool) or not isinstance(args[0], float | int):
            return
        value = float(args[0])
        if not math.isfinite(value):
            raise ValueError(f"fader value {value!r}")
        step = fader_step(value)
        link = self.link
        with self._changed:
            state = self._faders[index]
            asked_at = state.asked_at if reply else now
            if reply:
                state.query_sent = None
            # A reply shows the console before any set sent after its query: it settles none of
            # those (they may yet be lost), and they are read back once the fader is quiet.
            saw_all = state.last_send <= asked_at
            before = state.confirmed
            if before is None and link.state in (LinkState.CONNECTING, LinkState.RESYNCING):
                # A read: this is where the console is; nothing of ours is in flight.
                state.confirmed = step
                link.finish_reads(now)
            elif before is None:
                state.confirmed = step
                state.sent = step
                state.pending.clear()
            elif index in link.overridden:
                if not reply:
                    link.person(index, step)  # every move of theirs counts (a return releases)
                elif link.landed_late(index, step):
                    state.confirmed = step  # ours, after their hand: theirs is put back
                elif step != before and not state.is_ours(step, 0):
                    link.person(index, step)  # else: read back before they took it
            elif step == state.sent and saw_all:
                state.confirmed = step  # where we put it: every set of ours is settled
                state.pending.clear()
            elif not reply:
                # A push: someone else changed it (the console does not echo our own sets).
                link.person(index, step)
            elif step == before or state.take_echo(step, 0, asked_at, READBACK_DEPTH):
                state.confirmed = step
                if saw_all:
                    # A read-back of an older value: the console missed our later sets. Again.
                    state.sent = step
                    state.pending.clear()
            elif not saw_all and state.is_ours(step, 0):
                pass  # a later set of ours: the reply answered a retry; read back again
            else:
                # A read-back of a value we never sent: a person moved the fader.
                link.person(index, step)
            self._changed.notify_all()

    # --- transport -----------------------------------------------------------------------------

    def _send_raw(self, messages: list[bytes], via: socket.socket | None = None) -> None:
        sock, console = via or self._sock, self._console
        if sock is None or console is None or not messages:
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
