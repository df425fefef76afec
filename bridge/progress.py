"""Progress of a long job (render, eval, data synth, train): a bar with ETA on a terminal, plain
lines otherwise (a log or a pipe gets one line every `every_s`, never carriage returns).

    progress = Progress(total=48.0, label="render", unit="s")
    progress.update(12.0)    # cheap: draws at most every `redraw_s`
    progress.done()
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """`update(done)` with done in `unit`s out of `total`; thread-safe enough for one writer."""

    def __init__(
        self,
        total: float,
        label: str,
        *,
        unit: str = "",
        decimals: int | None = None,
        stream: TextIO | None = None,
        tty: bool | None = None,
        every_s: float = 5.0,
        redraw_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(float(total), 0.0)
        self.label = label
        self.unit = unit
        self.decimals = (1 if unit else 0) if decimals is None else decimals
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty()) if tty is None else tty
        self.every_s = every_s
        self.redraw_s = redraw_s
        self.clock = clock
        self.start = clock()
        self.done_amount = 0.0
        self._last_draw = -float("inf")
        self._drawn: float | None = None
        self._finished = False

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (None before anything is done)."""
        elapsed = self.clock() - self.start
        if self.done_amount <= 0 or elapsed <= 0:
            return None
        rate = self.done_amount / elapsed
        return max(self.total - self.done_amount, 0.0) / rate

    def line(self) -> str:
        """The progress as one line (without the bar)."""
        frac = self.done_amount / self.total if self.total else 1.0
        d = self.decimals
        amount = f"{self.done_amount:.{d}f}/{self.total:.{d}f}{self.unit}"
        eta = self.eta_s()
        eta_text = "ETA --:--" if eta is None else f"ETA {_clock(eta)}"
        elapsed = _clock(self.clock() - self.start)
        return f"{self.label}: {100 * min(frac, 1.0):3.0f}% {amount}  {elapsed} elapsed  {eta_text}"

    def bar(self) -> str:
        frac = min(self.done_amount / self.total, 1.0) if self.total else 1.0
        full = round(frac * BAR_WIDTH)
        return "[" + "#" * full + "." * (BAR_WIDTH - full) + "]"

    def update(self, done: float) -> None:
        self.done_amount = min(float(done), self.total) if self.total else float(done)
        now = self.clock()
        wait = self.redraw_s if self.tty else self.every_s
        if now - self._last_draw < wait:
            return
        self._last_draw = now
        self._draw()

    def _draw(self, end: str = "") -> None:
        self._drawn = self.done_amount
        if self.tty:
            label, _, rest = self.line().partition(": ")
            self.stream.write(f"\r{label} {self.bar()} {rest}\033[K{end}")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def done(self) -> None:
        """The final line (once)."""
        if self._finished:
            return
        self._finished = True
        self.done_amount = self.total
        if self.tty or self._drawn != self.total:  # a log does not get the last line twice
            self._draw(end="\n")
