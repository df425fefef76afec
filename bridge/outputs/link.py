"""What an output knows about one fader it drives, and whether a reported value was ours, a read,
or a person's move: shared by the REAPER and MIDI surface outputs."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class FaderState:
    """One driven fader; the owning sink guards it with its lock."""

    target: int
    """Track or strip number on the other side (1-based)."""
    desired: float | None = None
    """Latest level the engine asked for, in the output's units (latest value wins)."""
    sent: float | None = None
    last_send: float = -math.inf
    confirmed: float | None = None
    """Last value the other side reported."""
    recent: deque[tuple[float, float]] = field(default_factory=deque)
    """(time, value) of our recent sets: late echoes of them are not a person."""
    touched: bool = False
    """We hold a touch on this fader (a move burst is in progress)."""
    retries: int = 0
    name: str = ""

    def remember(self, value: float, now: float) -> None:
        self.sent = value
        self.last_send = now
        self.recent.append((now, value))

    def forget_before(self, t: float) -> None:
        while self.recent and self.recent[0][0] < t:
            self.recent.popleft()

    def is_ours(self, value: float, tol: float) -> bool:
        """Close to what we last sent, or to any set still remembered."""
        near_sent = self.sent is not None and abs(value - self.sent) <= tol
        return near_sent or any(abs(value - v) <= tol for _, v in self.recent)

    def report(self, value: float, tol: float, first_report_is_read: bool = True) -> bool:
        """Take a value the other side reported; True when it means a person moved the fader.

        Ours (or a late echo of ours): confirmed. A first report (when the other side shows
        positions unasked, as hosts do when a track comes into view), a report before we sent
        anything, or one equal to the previous report (our set was lost): a read. Else a person.
        """
        if self.is_ours(value, tol):
            self.confirmed = value
            return False
        before = self.confirmed
        self.confirmed = value
        unchanged = before is not None and abs(value - before) <= tol
        if self.sent is None or unchanged or (before is None and first_report_is_read):
            if self.sent is None:
                self.sent = value
            return False
        self.recent.clear()
        return True
