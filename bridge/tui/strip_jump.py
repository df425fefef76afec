"""Finding a strip: typing its channel number jumps to it, and which strips are in view."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.binding import Binding

JUMP_WINDOW_S = 1.5
"""Digits typed within this long of each other make one number (1 then 2: channel 12)."""


def digit_bindings() -> list[Binding]:
    """One binding per digit, all shown once (as 0-9) in the help."""
    return [
        Binding(
            str(d),
            f"digit({d})",
            "jump to channel (type its number)",
            key_display="0-9",
            show=False,
        )
        for d in range(10)
    ]


class ChannelJump:
    """Turns typed digits into a channel index (0-based).

    Each digit jumps at once: `1` goes to channel 1, a `2` typed within `window_s` makes it
    channel 12. A number past the last channel starts again from the digit just typed.
    """

    def __init__(
        self,
        n_channels: int,
        window_s: float = JUMP_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.n = n_channels
        self.window_s = window_s
        self.clock = clock
        self.typed = ""
        self._last = -float("inf")

    def type(self, digit: int) -> int | None:
        """The channel to select after `digit`, or None when no channel has that number."""
        now = self.clock()
        joined = self.typed + str(digit) if now - self._last <= self.window_s else str(digit)
        self._last = now
        if 1 <= int(joined) <= self.n:
            self.typed = joined
        else:
            self.typed = str(digit)
        number = int(self.typed)
        if not 1 <= number <= self.n:
            return None
        return number - 1


def visible_range(scroll_x: float, view_width: int, strip_width: int) -> tuple[int, int]:
    """(first, last) 1-based numbers of the strips wholly in view of a row scrolled by
    `scroll_x` cells; (1, 0) when nothing is known yet."""
    if strip_width <= 0 or view_width <= 0:
        return 1, 0
    first = int(-(-round(scroll_x) // strip_width)) + 1
    last = int((round(scroll_x) + view_width) // strip_width)
    return first, max(last, first - 1)
