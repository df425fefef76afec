"""GainSink for REAPER over OSC: exact dB sets wrapped in touch, banks, a person's moves read back.

REAPER listens on one UDP port (8000 by default) and sends its feedback to the device port
configured in its OSC settings (9000 here); we use one socket bound to that device port for both
directions. Feedback is placed by the absolute track numbers REAPER reports for its bank slots, so
bank switches never misplace it. A level that comes back and is neither ours nor REAPER's earlier
value means a person (or REAPER's own automation) moved the fader: that track is yielded until
released. The shared fader-link core (bridge.outputs.link) reads every track before the first set
and after every outage. REAPER only sends what changed, so the heartbeat is `/device/track/count`
every 250 ms, which makes REAPER re-send the bank in view; 0.75 s without a word is a lost link.
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType

import numpy as np

from bridge.outputs.base import HumanMoveCallback
from bridge.outputs.link import (
    FaderLink,
    FaderState,
    LinkedOutput,
    LinkState,
    ReceiveGuard,
    close,
)
from bridge.outputs.osc import decode_message
from bridge.outputs.reaper import codec as rc

log = logging.getLogger(__name__)

Address = tuple[str, int]

TICK_S = 0.01
"""Worker period: releases touches, retries unconfirmed sets, runs the health timers."""
TOLERANCE_DB = 0.02
"""A fed-back level this close to one we sent is ours (REAPER echoes as float32)."""
RECENT_S = 2.0
"""Our sets are remembered this long, so late echoes are not taken for a person. Counted to the
last time the receive socket was found empty, not to now, so that a stall of this process (a
busy machine) never forgets a set whose echo is already waiting in the socket; and only as far
as REAPER has shown it handled our sets (the send time of the newest set it echoed, on any
track: a set is forgotten once one sent RECENT_S after it was echoed), so that a stall of
REAPER never forgets a set whose echo it has still to send."""
MAX_RETRIES = 5
"""An unconfirmed set is re-sent at most this often (a track REAPER lacks never answers)."""
READ_RETRY_S = 0.25
"""A bank whose tracks are still unread is selected again after this long."""


def _near(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and close(a, b, TOLERANCE_DB)


class ReaperOscClient(LinkedOutput[FaderState]):
    """Drives REAPER track volumes from gains in dB; implements `GainSink`."""

    def __init__(
        self,
        host: str,
        port: int = 8000,
        tracks: Sequence[int] = (1, 2, 3, 4, 5, 6, 7, 8),
        *,
        listen_port: int = 9000,
        listen_host: str = "0.0.0.0",
        bank_size: int = 8,
        automation_mode: str = "",
        on_human_move: HumanMoveCallback | None = None,
        min_interval_s: float = 0.05,
        touch_release_s: float = 0.5,
        min_change_db: float = 0.05,
        probe_timeout_s: float = 1.0,
        verify_after_s: float = 0.3,
        require_feedback: bool = False,
        heartbeat_s: float = 0.25,
        lost_after_s: float = 0.75,
        resync: str = "hold",
        listen: bool = False,
    ) -> None:
        """`tracks[i]` is the REAPER track (1-based, absolute) driven by capture channel `i`."""
        chans = list(tracks)
        if len(set(chans)) != len(chans) or min(chans, default=1) < 1:
            raise ValueError(f"REAPER tracks must be distinct and >= 1, got {chans}")
        if automation_mode and automation_mode not in rc.AUTOMATION_MODES:
            raise ValueError(f"automation mode must be one of {list(rc.AUTOMATION_MODES)}")
        self.name = f"REAPER {host}:{port}"
        self._host = host
        self._port = port
        self._listen = (listen_host, listen_port)
        self._bank_size = bank_size
        self._automation_mode = automation_mode
        self._min_interval_s = min_interval_s
        self._touch_release_s = touch_release_s
        self._min_change_db = min_change_db
        self._probe_timeout_s = probe_timeout_s
        self._verify_after_s = verify_after_s
        self._require_feedback = require_feedback

        self._heartbeat_s = heartbeat_s
        self._tracks = [FaderState(t) for t in chans]
        self.link: FaderLink[FaderState] = FaderLink(
            self.name,
            self._tracks,
            float,
            tol=TOLERANCE_DB,
            lost_after_s=lost_after_s,
            resync=resync,
            listen=listen,
        )
        self.link.on_human_move = on_human_move
        self.guard = ReceiveGuard(self.name, decode_message)
        self._lock = self.link.lock
        self._changed = self.link.changed
        self._overridden = self.link.overridden
        self._index = {t: i for i, t in enumerate(chans)}
        self._phase = "idle"  # idle -> connected -> closed
        self._feedback_from: Address | None = None
        """REAPER's sending address (its own socket, not its listen port), learned at connect."""
        self._last_heartbeat = -math.inf
        self._drained_at = time.monotonic()
        """When the receive socket was last read empty: every datagram REAPER sent before then
        has been handled."""
        self._no_heartbeat = False
        self._bank_asked: dict[int, float] = {}
        self._bank = 0
        """Bank our next `/track/N` messages address (the last one we selected)."""
        self._placer = rc.FeedbackPlacer(bank_size)
        self._send_drops = 0
        self._reaper: Address | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- lifecycle -----------------------------------------------------------------------------

    def connect(self) -> ReaperOscClient:
        """Bind the device port, set REAPER's bank size, wait for its feedback; returns self.

        Without feedback in time a person's moves cannot be seen: with `require_feedback` that is a
        ConnectionError, otherwise a warning and a status line that says so.
        """
        if self._phase != "idle":
            raise RuntimeError(f"{self.name}: connect() called when {self._phase}")
        try:
            info = socket.getaddrinfo(self._host, self._port, socket.AF_INET, socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            raise ConnectionError(f"cannot resolve REAPER host {self._host!r}: {exc}") from exc
        self._reaper = (str(info[0][4][0]), int(info[0][4][1]))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(self._listen)
        except OSError as exc:
            sock.close()
            raise ConnectionError(
                f"cannot listen for REAPER's feedback on UDP {self._listen[0]}:{self._listen[1]}: "
                f"{exc.strerror}"
            ) from exc
        sock.setblocking(False)
        self._sock = sock
        self._thread = threading.Thread(
            target=self.link.run_guarded(self._run), name="reaper-osc", daemon=True
        )
        self._thread.start()
        try:
            self._probe()
        except BaseException:
            self.close()
            raise
        return self

    def _probe(self) -> None:
        with self._changed:
            # Setting the bank size makes REAPER send the bank's names, numbers and levels.
            self._emit([rc.track_count(self._bank_size), rc.bank_select(self._bank)])
            self._phase = "connected"  # the worker reads every bank with a driven track
            self._last_heartbeat = time.monotonic()
            heard = self._changed.wait_for(
                lambda: self.link.state is not LinkState.CONNECTING, self._probe_timeout_s
            )
            advice = (
                f"no feedback from REAPER at {self._host}:{self._port} within "
                f"{self._probe_timeout_s:.1f} s; in REAPER's Preferences > Control/OSC/web add an "
                f"OSC device with local listen port {self._port} and device port "
                f"{self._listen[1]} pointing at this machine"
            )
            if not heard and self._require_feedback:
                raise ConnectionError(advice)
            if not heard:
                log.warning(
                    "%s: %s; a person's moves cannot be seen until it does", self.name, advice
                )
            elif self.link.lost_after_s is not None:
                self._check_heartbeat()
            if self._automation_mode:
                self._emit(self._automation_messages())

    def _check_heartbeat(self) -> None:
        """Our heartbeat must make REAPER answer, or its silence would read as a lost link for
        the whole show; where it does not, lost-link detection is off and the status says so.
        (Lock held.)"""
        # Three in a row: a REAPER that re-sends unchanged values only once or twice fails here.
        lost_after, self.link.lost_after_s = self.link.lost_after_s, None  # not lost meanwhile
        for _ in range(3):
            self._wait_quiet()  # what still trails the last refresh is not an answer
            sent = time.monotonic()
            self._last_heartbeat = sent
            self._emit([rc.track_count(self._bank_size)])
            if not self._changed.wait_for(
                lambda: self.link.last_rx > sent,  # noqa: B023 (waited on before the next turn)
                self._probe_timeout_s,
            ):
                break
        else:
            self.link.lost_after_s = lost_after
            return
        self._no_heartbeat = True
        log.warning(
            "%s: REAPER does not answer /device/track/count; a lost link cannot be detected",
            self.name,
        )

    def _wait_quiet(self, gap_s: float = 0.05, limit_s: float = 1.0) -> None:
        """Until nothing arrived for `gap_s` (at most `limit_s`); lock held, released while
        waiting."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            heard = self.link.last_rx
            self._changed.wait_for(lambda: self.link.last_rx != heard, gap_s)  # noqa: B023
            if self.link.last_rx == heard:
                return

    def close(self) -> None:
        """Release our touches, stop the worker, close the socket; safe to call twice."""
        with self._lock:
            if self._phase == "connected":
                releases: dict[int, list[bytes]] = {}
                for s in self._tracks:
                    if s.touched:
                        s.touched = False
                        bank, n = rc.bank_of(s.target, self._bank_size)
                        releases.setdefault(bank, []).append(rc.volume_touch(n, False))
                self._emit(self._in_banks(releases))
            self._phase = "closed"
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> ReaperOscClient:
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
        if gains.shape != (len(self._tracks),):
            raise ValueError(f"{self.name}: expected {len(self._tracks)} gains, got {gains.shape}")
        with self._lock:
            for i, g in enumerate(gains):
                # A missing level (NaN) keeps the previous target; -inf is the fader's bottom.
                if math.isfinite(g) or g == -math.inf:
                    self.link.want(i, round(float(g), 3))
            self._emit(self._due(time.monotonic()))

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Wait until REAPER reports our last level on every driven track and touches are off."""

        def settled() -> bool:
            return all(
                i in self._overridden
                or s.desired is None
                or (_near(s.confirmed, s.desired) and not s.touched)
                for i, s in enumerate(self._tracks)
            )

        with self._changed:
            return self._changed.wait_for(settled, timeout=timeout_s)

    def status(self) -> str:
        """One line for the TUI."""
        now = time.monotonic()
        with self._lock:
            where = f"{self._host}:{self._port}"
            state = self.link.state
            if state is LinkState.FAULT:
                return f"FAULT {where}: {self.link.fault}"
            if self._phase != "connected":
                return f"{'closed' if self._phase == 'closed' else 'not connected'} {where}"
            if state is LinkState.LOST:
                return f"lost (no answer {now - self.link.last_rx:.1f} s)"
            heard = now - self.link.last_rx
            fed = f"last {heard:.1f} s ago" if heard < math.inf else "none yet"
            line = f"connected {where}, feedback on :{self._listen[1]} ({fed})"
            if state is LinkState.RESYNCING:
                line += ", re-reading"
            if self._no_heartbeat:
                line += ", no heartbeat: a lost link is not seen"
            if self.link.listen:
                line += ", listening (no sets)"
            if self._overridden:
                held = ",".join(str(self._tracks[i].target) for i in sorted(self._overridden))
                line += f", held by hand: track {held}"
            if self._send_drops:
                line += f", {self._send_drops} sends dropped"
            return line

    # --- override and state --------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """REAPER track names per capture channel ('' until REAPER sent them)."""
        with self._lock:
            return [s.name for s in self._tracks]

    @property
    def local_address(self) -> Address | None:
        sock = self._sock
        if sock is None:
            return None
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._phase == "connected" and self.link.state is LinkState.LIVE

    def reaper_db(self, index: int) -> float | None:
        """Last level REAPER reported for capture channel `index`."""
        with self._lock:
            return self._tracks[index].confirmed

    # --- what to send (lock held) --------------------------------------------------------------

    def _due(self, now: float) -> list[bytes]:
        """Sets, touches and retries allowed now, with the bank switches they need."""
        if self._phase != "connected" or not self.link.accepting:
            return []
        per_bank: dict[int, list[bytes]] = {}
        several = len({rc.bank_of(s.target, self._bank_size)[0] for s in self._tracks}) > 1
        start = self._placer.start
        shown = None if start is None else start // self._bank_size
        waiting: list[int] = []
        handled = max(s.settled_sent_at for s in self._tracks)
        for i, s in enumerate(self._tracks):
            bank, n = rc.bank_of(s.target, self._bank_size)
            if several and (bank != shown or shown != self._bank):
                # Bank-relative sets go only to the bank REAPER says it shows, and only when
                # that is the bank we last selected: a lost bank select, or a refresh that
                # answers an earlier select arriving after a later one was sent (REAPER will
                # have moved on when our set arrives), must never put one track's level on
                # another track.
                if s.touched or (s.desired is not None and not _near(s.confirmed, s.desired)):
                    waiting.append(bank)
                continue
            msgs = per_bank.setdefault(bank, [])
            s.forget_before(min(now, self._drained_at, handled) - RECENT_S)
            if i in self._overridden:
                if s.touched:  # let the person's moves be the ones REAPER records
                    s.touched = False
                    msgs.append(rc.volume_touch(n, False))
                continue
            quiet = now - s.last_send >= self._min_interval_s
            move = (
                s.desired is not None
                and quiet
                and (s.sent is None or abs(s.desired - s.sent) >= self._min_change_db)
            )
            retry = (
                not move
                and s.desired is not None
                and s.sent is not None
                and not _near(s.confirmed, s.sent)
                and now - s.last_send >= self._verify_after_s
                and s.retries < MAX_RETRIES
            )
            if (move or retry) and s.desired is not None:
                s.retries = 0 if move else s.retries + 1
                if not s.touched:
                    s.touched = True
                    msgs.append(rc.volume_touch(n, True))
                msgs.append(rc.volume_db(n, s.desired))
                s.remember(s.desired, now)
            elif s.touched and now - s.last_send >= self._touch_release_s:
                s.touched = False
                # Twice: a lost release would leave REAPER writing touch automation.
                msgs += [rc.volume_touch(n, False)] * 2
        if not several:
            return self._in_banks(per_bank)
        out = per_bank.get(shown, []) if shown is not None else []
        if waiting and now - self._bank_asked.get(waiting[0], -math.inf) >= READ_RETRY_S:
            self._bank_asked[waiting[0]] = now
            self._bank = waiting[0]
            out.append(rc.bank_select(waiting[0]))
        return out

    def _in_banks(self, per_bank: dict[int, list[bytes]]) -> list[bytes]:
        """Messages per bank in one sequence: the current bank first, switching as needed."""
        out: list[bytes] = []
        order = sorted(per_bank, key=lambda b: (b != self._bank, b))
        for bank in order:
            if not per_bank[bank]:
                continue
            if bank != self._bank:
                self._bank = bank
                out.append(rc.bank_select(bank))
            out += per_bank[bank]
        return out

    def _automation_messages(self) -> list[bytes]:
        per_bank: dict[int, list[bytes]] = {}
        for s in self._tracks:
            bank, n = rc.bank_of(s.target, self._bank_size)
            per_bank.setdefault(bank, []).append(rc.automation_mode(n, self._automation_mode))
        return self._in_banks(per_bank)

    # --- worker: receive, dispatch, timers -----------------------------------------------------

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], TICK_S)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                raise
            if ready:
                self._drain(sock)
            else:
                self._drained_at = time.monotonic()  # nothing waited in the socket
            self._tick(time.monotonic())
            self.link.fire()

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(256):  # bounded, so a flood cannot starve the timers
            try:
                data, sender = sock.recvfrom(65536)
            except BlockingIOError:
                self._drained_at = time.monotonic()
                return
            except InterruptedError:
                return
            except OSError as exc:
                log.debug("%s: receive error ignored: %s", self.name, exc)
                return
            # REAPER sends from its own socket, not from its listen port: the first datagram
            # from its host after our probe names that port; from then on host and port must match.
            source = (str(sender[0]), int(sender[1]))
            if self._feedback_from is None and self._reaper and source[0] == self._reaper[0]:
                self._feedback_from = source
            message = self.guard.accept(data, sender, self._feedback_from)
            if message is None:
                continue
            try:
                self._on_message(*message, time.monotonic())
            except Exception as exc:  # well-formed OSC with arguments we cannot use
                self.guard.drop(f"handler {message[0]}", f"{type(exc).__name__}: {exc}")
            self.link.fire()

    def _on_message(self, address: str, args: list[object], now: float) -> None:
        with self._changed:
            if self.link.heard(now):
                self._bank_asked.clear()
            for fb in self._placer.feed(address, args, now, self._bank):
                index = self._index.get(fb.track)
                if index is None:
                    continue
                if fb.kind == "name":
                    self._tracks[index].name = str(fb.value)
                else:
                    value = float(fb.value)
                    if not math.isfinite(value) and value != -math.inf:
                        raise ValueError(f"track volume {value!r}")
                    self._on_volume(index, value, now)
            self._changed.notify_all()

    def _on_volume(self, index: int, db: float, now: float) -> None:
        """Update what REAPER holds for a track (lock held)."""
        s = self._tracks[index]
        link = self.link
        if _near(db, s.sent):
            s.retries = 0
        if s.confirmed is None and link.state in (LinkState.CONNECTING, LinkState.RESYNCING):
            s.confirmed = db  # a read, at connect or after an outage
            link.finish_reads(now)
            return
        if index in self._overridden:
            link.person(index, db)
            return
        # The first report of a track is a read: REAPER may show it before applying our set.
        if s.report(db, TOLERANCE_DB, first_report_is_read=True):
            link.person(index, db)

    def _tick(self, now: float) -> None:
        with self._changed:
            if self._phase != "connected" or self.link.state is LinkState.FAULT:
                return
            if self.link.check_silence(now):
                self._feedback_from = None  # REAPER may come back from a new socket
            out: list[bytes] = []
            if now - self._last_heartbeat >= self._heartbeat_s:
                # REAPER has no ping; a track count makes it re-send the bank in view.
                self._last_heartbeat = now
                out.append(rc.track_count(self._bank_size))
            if self.link.state in (LinkState.CONNECTING, LinkState.RESYNCING):
                out += self._ask_unread_bank(now)
            for fb in self._placer.due_names(now, self._bank):
                index = self._index.get(fb.track)
                if index is not None:
                    self._tracks[index].name = str(fb.value)
                    self._changed.notify_all()
            if self.link.state is not LinkState.LOST:
                out += self._due(now)
            if out:
                self._emit(out)
                self._changed.notify_all()  # flush() waits for touches to be released

    def _ask_unread_bank(self, now: float) -> list[bytes]:
        """Select, one at a time, a bank whose driven tracks are still unread (lock held)."""
        unread = sorted(
            {rc.bank_of(s.target, self._bank_size)[0] for s in self._tracks if s.confirmed is None}
        )
        if not unread:
            return []
        bank = unread[0]
        if now - self._bank_asked.get(bank, -math.inf) < READ_RETRY_S:
            return []
        self._bank_asked[bank] = now
        self._bank = bank
        return [rc.bank_select(bank)]

    # --- transport (lock held) -----------------------------------------------------------------

    def _emit(self, messages: list[bytes]) -> None:
        sock, reaper = self._sock, self._reaper
        if sock is None or reaper is None:
            return
        for msg in messages:
            try:
                sock.sendto(msg, reaper)
            except (BlockingIOError, InterruptedError):
                self._send_drops += 1
            except OSError as exc:
                log.debug("%s: send failed: %s", self.name, exc)
