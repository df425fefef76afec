"""The fader-link core every console, DAW and surface output shares.

Per fader: what we sent, what the other side reports, and whether a report is ours, a read or a
person's. Per link: the state (connecting, live, lost, resyncing, fault), silence detection for
the heartbeat, the values read at (re)connect that the engine adopts, release of a fader by hand
(returned to where we last put it), and one guarded decode for every datagram. A protocol client
keeps only its law, its codec and its transport, and calls in here with the link's lock held.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from bridge.outputs.base import HumanMoveCallback

log = logging.getLogger(__name__)

T = TypeVar("T")
Address = tuple[str, int]

RESYNC_POLICIES = ("hold", "adopt")
"""What a fader that changed while the link was down becomes at resync: a person's (held until
released) or the model's new base. Either way the model slews from the console's value."""
RETURN_TOL_DB = 0.5
"""A held fader brought back this close to where we last put it is handed back to the model."""
RESTORES_MAX = 4
"""A person's value is put back at most this often per take (a lost put-back is tried again)."""


class LinkState(StrEnum):
    CONNECTING = "connecting"
    """Reading every driven fader; nothing is sent yet."""
    LIVE = "live"
    LOST = "lost"
    """The other side went silent: nothing is sent, the engine holds every fader."""
    RESYNCING = "resyncing"
    """It answers again: every fader is re-read before anything is sent."""
    FAULT = "fault"
    """The output's worker died: nothing is sent until the show ends."""
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkReport:
    """One look at a link, for the engine (once per hop) and the TUI."""

    state: LinkState
    held_db: tuple[float | None, ...]
    """What the other side holds per channel (last confirmed, dB); None where unknown."""
    fault: str = ""
    last_rx: float = -math.inf
    """time.monotonic() of the last datagram heard."""


@dataclass(frozen=True)
class LinkEvent:
    """A change of link state, with the times that tell how fast it came."""

    t: float
    kind: str
    """'lost', 'resynced', 'fault'."""
    last_rx: float
    detail: str = ""


def close(a: float, b: float, tol: float) -> bool:
    """Within `tol` of each other; two equal infinities (a fader at -inf dB) are close too."""
    return a == b or abs(a - b) <= tol


PENDING_MAX = 64
"""Our sets remembered per fader until the other side confirms one: 3.2 s of sets at the usual
rate limit (one per 50 ms), longer than any output waits for an echo (REAPER 2 s, MIDI 1 s).
Only these and the last one sent can be taken for ours, and a report settles every set before
the one it shows: a person's move to a level the model passed through earlier is a person's."""


@dataclass
class FaderState:
    """One driven fader; the owning link's lock guards it."""

    target: int
    """Track or strip number on the other side (1-based)."""
    desired: float | None = None
    """Latest level the engine asked for, in the output's units (latest value wins)."""
    sent: float | None = None
    """Last value we set, or the other side's value after a read."""
    last_send: float = -math.inf
    confirmed: float | None = None
    """Last value the other side reported; None = unknown, a read is due."""
    pending: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=PENDING_MAX))
    """(time, value) of our sets not confirmed yet, oldest first. Reports come back in the order
    we sent: one that shows a set settles it and every set before it, which are forgotten."""
    held_before: float | None = None
    """The last value the other side confirmed before the link was lost."""
    touched: bool = False
    """We hold a touch on this fader (a move burst is in progress)."""
    retries: int = 0
    name: str = ""
    away: bool = False
    """Held by a person, and moved away from where we last put it (a return then releases)."""
    late: tuple[float, ...] = ()
    """Our sets still in flight when a person took the fader: one of them may land after their
    hand (sent in the moment between their move and our hearing of it)."""
    restore: float | None = None
    """The person's value, to be put back once: one of our sets landed after their hand."""
    restores: int = 0
    settled_sent_at: float = -math.inf
    """When the newest set the other side has shown was sent: it had handled everything sent
    before then (reports come in the order we sent)."""

    def remember(self, value: float, now: float) -> None:
        self.sent = value
        self.last_send = now
        self.pending.append((now, value))

    def forget_before(self, t: float) -> None:
        """Forget sets sent before `t` that were never confirmed: lost, their echo will not come."""
        while self.pending and self.pending[0][0] < t:
            self.pending.popleft()

    def is_ours(self, value: float, tol: float) -> bool:
        """Close to what we last sent, or to a set not confirmed yet (nothing is settled)."""
        near_sent = self.sent is not None and close(value, self.sent, tol)
        return near_sent or any(close(value, v, tol) for _, v in self.pending)

    def take_echo(
        self, value: float, tol: float, sent_before: float = math.inf, last: int = PENDING_MAX
    ) -> bool:
        """True when `value` shows one of our sets, which is then confirmed: that set and every
        older one are settled (forgotten). Only the `last` sets sent before `sent_before` count
        (a read-back shows one of the last that arrived before the query). The oldest match is
        taken, so that the echo of a set in between still counts as ours. The last value sent
        is ours too, when sent before `sent_before`: the other side holds what we put there."""
        before = [k for k, (t, _) in enumerate(self.pending) if t <= sent_before]
        for k in before[-last:]:
            if close(value, self.pending[k][1], tol):
                self.settled_sent_at = max(self.settled_sent_at, self.pending[k][0])
                for _ in range(k + 1):
                    self.pending.popleft()
                self.confirmed = value
                return True
        if self.sent is not None and close(value, self.sent, tol) and self.last_send <= sent_before:
            self.pending.clear()
            self.settled_sent_at = max(self.settled_sent_at, min(self.last_send, sent_before))
            self.confirmed = value
            return True
        return False

    def unchanged_since_lost(self, value: float, tol: float) -> bool:
        """A read after an outage that nobody made: our last set, one sent before it (the last
        ones were lost), or what the other side confirmed before the link was lost."""
        before = self.held_before is not None and close(value, self.held_before, tol)
        return before or self.is_ours(value, tol)

    def report(self, value: float, tol: float, first_report_is_read: bool = True) -> bool:
        """Take a value the other side reported; True when it means a person moved the fader.

        The value it already showed: a read, which settles nothing (a refresh shows where the
        fader is, and must not settle a newer set of ours that happens to have the same value).
        An echo of one of our unconfirmed sets (in the order we sent them) or of the last one:
        confirmed. A first report (when the other side shows positions unasked, as hosts do when
        a track comes into view), a report before we sent anything, or one equal to the previous
        report (our set was lost): a read. Else a person.
        """
        before = self.confirmed
        unchanged = before is not None and close(value, before, tol)
        # Unchanged first: where the fader already was (a refresh, the second form of an echo)
        # settles nothing, though a newer set of ours may have the same value.
        if not unchanged and self.take_echo(value, tol):
            return False
        self.confirmed = value
        if self.sent is None or unchanged or (before is None and first_report_is_read):
            if self.sent is None:
                self.sent = value
            return False
        self.pending.clear()
        return True


F = TypeVar("F", bound=FaderState)


class FaderLink(Generic[F]):
    """The shared state of one output: its faders, who holds them, and the link.

    Clients take `lock` (or `changed`) around every call marked "lock held", then call `fire()`
    without it so that callbacks into the engine never run under the link's lock.
    """

    def __init__(
        self,
        name: str,
        faders: Sequence[F],
        to_db: Callable[[float], float],
        *,
        tol: float = 0.0,
        lost_after_s: float | None = None,
        resync: str = "hold",
        listen: bool = False,
        return_tol_db: float = RETURN_TOL_DB,
    ) -> None:
        if resync not in RESYNC_POLICIES:
            raise ValueError(f"resync must be one of {list(RESYNC_POLICIES)}, got {resync!r}")
        self.name = name
        self.faders = list(faders)
        self.to_db = to_db
        self.tol = tol
        """Two reports this close (output units) are the same value."""
        self.lost_after_s = lost_after_s
        """Silence that means the link is lost (None: the protocol has no heartbeat)."""
        self.resync = resync
        self.listen = listen
        """Listen mode: read and report, never set a fader."""
        self.return_tol_db = return_tol_db
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.overridden: set[int] = set()
        self.state = LinkState.CONNECTING
        self.fault = ""
        self.last_rx = -math.inf
        self.events: list[LinkEvent] = []
        self.on_human_move: HumanMoveCallback | None = None
        self.on_release: Callable[[int], None] | None = None
        """Called as (index) when a person hands a fader back from the console itself."""
        self._base: list[float | None] | None = None
        self._base_pending = False
        """After a resync, sends wait until the engine took the re-read values as its base."""
        self._queued: list[Callable[[], None]] = []

    # --- engine side (takes the lock) ----------------------------------------------------------

    def report(self) -> LinkReport:
        with self.lock:
            return LinkReport(self.state, self._held(), self.fault, self.last_rx)

    def take_base(self) -> list[float | None] | None:
        """The values read at connect or resync (dB per channel), once; None when none is new.

        Taking them lets sends through again after a resync: the engine slews from these.
        """
        with self.changed:
            base, self._base = self._base, None
            self._base_pending = False
            self.changed.notify_all()
            return base

    def release(self, index: int) -> None:
        """Give channel `index` back to the engine; it moves on from where the fader is."""
        with self.changed:
            self.overridden.discard(index)
            f = self.faders[index]
            if f.confirmed is not None:
                f.sent = f.confirmed
            f.desired = None
            f.away = False
            f.pending.clear()
            f.late, f.restore = (), None
            self.changed.notify_all()

    def held_overrides(self) -> frozenset[int]:
        with self.lock:
            return frozenset(self.overridden)

    # --- client side (lock held) ---------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether fader sets may go out now."""
        return self.state is LinkState.LIVE and not self.listen and not self._base_pending

    def want(self, index: int, value: float) -> None:
        """The engine's latest level for a fader, in output units (ignored when not accepting)."""
        if self.accepting:
            self.faders[index].desired = value

    def heard(self, now: float) -> bool:
        """A valid datagram arrived; True when it ends an outage (the client re-reads)."""
        self.last_rx = now
        if self.state is not LinkState.LOST:
            return False
        self.state = LinkState.RESYNCING
        log.warning("%s: answers again; re-reading every fader before any set", self.name)
        for f in self.faders:
            # What it held and our sets in flight stay known: the re-read may show one of them.
            if f.confirmed is not None:
                f.held_before = f.confirmed
            f.confirmed = None
            f.desired = None
        return True

    def check_silence(self, now: float) -> bool:
        """True when the silence just became an outage (the engine freezes on the next hop)."""
        if self.lost_after_s is None or self.state not in (LinkState.LIVE, LinkState.RESYNCING):
            return False
        silence = now - self.last_rx
        if silence <= self.lost_after_s:
            return False
        self.state = LinkState.LOST
        self._base, self._base_pending = None, False
        self.events.append(LinkEvent(now, "lost", self.last_rx, f"silent {silence:.2f} s"))
        log.warning(
            "%s: no answer for %.2f s; holding every fader, sending nothing", self.name, silence
        )
        self.changed.notify_all()
        return True

    def all_read(self) -> bool:
        return all(f.confirmed is not None for f in self.faders)

    def finish_reads(self, now: float) -> None:
        """Every fader has been read: go live (connect) or compare with what we sent (resync)."""
        if self.state not in (LinkState.CONNECTING, LinkState.RESYNCING) or not self.all_read():
            return
        resync = self.state is LinkState.RESYNCING
        for i, f in enumerate(self.faders):
            read = f.confirmed
            assert read is not None
            # Any value but ours or the one it held before changed while we were away.
            ours = not resync or f.sent is None or f.unchanged_since_lost(read, self.tol)
            f.pending.clear()
            f.held_before = None
            if ours:
                f.sent = read
                continue
            if i in self.overridden:
                continue  # already a person's: stays theirs
            if self.resync == "adopt":
                log.info("%s: %d changed while away; adopted as the new base", self.name, f.target)
                f.sent = read
            else:
                log.info("%s: %d changed while away; a person's, held", self.name, f.target)
                self._take(i, read)
        self.state = LinkState.LIVE
        self._base = list(self._held())
        self._base_pending = resync
        if resync:
            self.events.append(LinkEvent(now, "resynced", self.last_rx))
        self.changed.notify_all()

    def person(self, index: int, value: float) -> None:
        """A value on the other side that is not ours: a person moved the fader."""
        f = self.faders[index]
        before = f.confirmed
        f.confirmed = value
        in_flight = tuple(v for _, v in f.pending if not close(v, value, self.tol))
        f.pending.clear()
        if index not in self.overridden:
            self._take(index, value)
            f.late, f.restores = in_flight, 0
            return
        if before is not None and close(value, before, self.tol):
            return
        if f.away and f.sent is not None and self._near_db(value, f.sent):
            log.info(
                "%s: %d brought back to our level: the model has it again", self.name, f.target
            )
            self.hand_back(index)
            return
        if f.sent is None or not self._near_db(value, f.sent):
            f.away = True
        self._queue_move(index, value)

    def landed_late(self, index: int, value: float) -> bool:
        """Whether a read-back of a held fader (a reply to a query sent after every set of ours)
        shows one of our sets that was in flight when the person took it: it landed after their
        hand, so their value is to be put back (`take_restore`). Any other reply settles it."""
        f = self.faders[index]
        if index not in self.overridden or not f.late:
            return False
        hand = f.confirmed
        ours = any(close(value, v, self.tol) for v in f.late)
        if hand is None or close(value, hand, self.tol) or not ours or f.restores >= RESTORES_MAX:
            f.late = ()
            return False
        log.warning(
            "%s: %d: one of our sets landed after the hand; putting the person's level back",
            self.name,
            f.target,
        )
        f.restore = hand
        f.restores += 1
        return True

    def take_restore(self, index: int) -> float | None:
        """The person's value to put back now, once (lock held; None when there is none). Sent
        as a plain set: `sent` stays ours, so a return to our level still hands the fader back;
        what we put back may itself land late, so it joins `late` until a read-back settles it."""
        f = self.faders[index]
        value, f.restore = f.restore, None
        if value is None or index not in self.overridden or not self.accepting:
            return None
        f.confirmed = value
        f.late = (*f.late, value)
        return value

    def hand_back(self, index: int) -> None:
        """A person released a held fader from the console (returned it, or a select button)."""
        if index not in self.overridden:
            return
        self.overridden.discard(index)
        f = self.faders[index]
        if f.confirmed is not None:
            f.sent = f.confirmed
        f.desired = None
        f.away = False
        f.late, f.restore = (), None
        self._queue_release(index)
        self.changed.notify_all()

    def died(self, reason: str) -> None:
        """The worker stopped: a fault, faders frozen, nothing sent any more."""
        self.state = LinkState.FAULT
        self.fault = reason
        self.events.append(LinkEvent(time.monotonic(), "fault", self.last_rx, reason))
        log.error("%s: %s; faders frozen", self.name, reason)
        self.changed.notify_all()

    # --- callbacks (without the lock) ----------------------------------------------------------

    def fire(self) -> None:
        """Run the callbacks queued while the lock was held."""
        with self.lock:
            queued, self._queued = self._queued, []
        for fn in queued:
            try:
                fn()
            except Exception:
                log.exception("%s: callback failed", self.name)

    def run_guarded(self, loop: Callable[[], None]) -> Callable[[], None]:
        """A thread target: `loop` raising anything is a fault of the link, never a silent death."""

        def target() -> None:
            try:
                loop()
            except BaseException as exc:
                with self.lock:
                    self.died(f"worker thread died: {type(exc).__name__}: {exc}")

        return target

    # --- helpers (lock held) -------------------------------------------------------------------

    def _take(self, index: int, value: float) -> None:
        f = self.faders[index]
        log.info(
            "%s: %d taken by hand (at %.2f dB; ours last %s)",
            self.name,
            f.target,
            self.to_db(value),
            "none" if f.sent is None else f"{self.to_db(f.sent):.2f} dB",
        )
        self.overridden.add(index)
        f.away = f.sent is None or not self._near_db(value, f.sent)
        self._queue_move(index, value)

    def _queue_move(self, index: int, value: float) -> None:
        log.debug("%s: %d moved by hand", self.name, self.faders[index].target)
        db = self.to_db(value)
        callback = self.on_human_move
        if callback is not None:
            self._queued.append(lambda: callback(index, db))

    def _queue_release(self, index: int) -> None:
        callback = self.on_release
        if callback is not None:
            self._queued.append(lambda: callback(index))

    def _near_db(self, a: float, b: float) -> bool:
        da, db = self.to_db(a), self.to_db(b)
        if math.isinf(da) or math.isinf(db):
            return da == db
        return abs(da - db) <= self.return_tol_db

    def _held(self) -> tuple[float | None, ...]:
        return tuple(None if f.confirmed is None else self.to_db(f.confirmed) for f in self.faders)


class ReceiveGuard(Generic[T]):
    """Every datagram an output receives goes through here: the sender is checked, the decode can
    raise anything, and what is dropped is counted and logged at most once per `log_every_s`."""

    def __init__(self, name: str, decoder: Callable[[bytes], T], log_every_s: float = 5.0) -> None:
        self.name = name
        self._decoder = decoder
        self._log_every_s = log_every_s
        self.dropped: Counter[str] = Counter()
        self._unlogged = 0
        self._last_log = -math.inf
        self._lock = threading.Lock()

    @property
    def total_dropped(self) -> int:
        with self._lock:
            return sum(self.dropped.values())

    def accept(self, data: bytes, sender: Address, expected: Address | None) -> T | None:
        """The decoded datagram, or None when it is a stranger's or malformed (counted)."""
        if expected is None or (str(sender[0]), int(sender[1])) != expected:
            self.drop("stranger", f"from {sender[0]}:{sender[1]}")
            return None
        return self.decode(data)

    def decode(self, data: bytes) -> T | None:
        try:
            return self._decoder(data)
        except Exception as exc:  # one bad datagram must never reach past here
            self.drop(type(exc).__name__, str(exc)[:80])
            return None

    def drop(self, reason: str, detail: str = "") -> None:
        now = time.monotonic()
        with self._lock:
            self.dropped[reason] += 1
            self._unlogged += 1
            if now - self._last_log < self._log_every_s:
                return
            count, self._unlogged, self._last_log = self._unlogged, 0, now
            reasons = ", ".join(f"{k} {v}" for k, v in self.dropped.most_common(4))
        log.warning(
            "%s: %d datagram(s) dropped (%s; last: %s %s)",
            self.name,
            count,
            reasons,
            reason,
            detail,
        )


class LinkedOutput(Generic[F]):
    """What every fader-link output shows the engine alike, read through its `link`: the person
    and release callbacks, the held channels, release, the link report and the adopted base."""

    link: FaderLink[F]

    @property
    def on_human_move(self) -> HumanMoveCallback | None:
        """Called from the output's thread as (capture index, dB); may be set after construction."""
        return self.link.on_human_move

    @on_human_move.setter
    def on_human_move(self, callback: HumanMoveCallback | None) -> None:
        self.link.on_human_move = callback

    @property
    def on_release(self) -> Callable[[int], None] | None:
        """Called as (capture index) when a person hands a fader back from the other side."""
        return self.link.on_release

    @on_release.setter
    def on_release(self, callback: Callable[[int], None] | None) -> None:
        self.link.on_release = callback

    @property
    def overridden(self) -> frozenset[int]:
        """Capture channel indices a person has taken over; we do not send to these."""
        return self.link.held_overrides()

    def release(self, index: int) -> None:
        """Give channel `index` back to the engine; its next value is sent from where it is now."""
        self.link.release(index)

    def link_report(self) -> LinkReport:
        """The link's state and what the other side holds, for the engine (once per hop)."""
        return self.link.report()

    def take_base(self) -> list[float | None] | None:
        """The levels read at connect or resync (dB), once; the engine starts from these (None
        where the other side shows no positions, e.g. a MIDI surface)."""
        return self.link.take_base()
