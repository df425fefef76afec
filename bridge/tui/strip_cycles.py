"""Textual's Strip without its self-reference cycles, so a drawn line is freed when it is dropped.

`Strip.crop_extend` and `Strip.divide` (Textual 8) keep their result in a cache on the strip
itself, and when nothing needs cutting the result is the strip itself (or `[strip]`): the strip
then holds itself. The compositor calls both on every line it draws, so every line of every
frame became a small reference cycle (the strip, its seven caches, its segments) that only the
garbage collector frees. At 330x45 with 32 strips that is about 4,300 objects a frame (173,956
left for the collector after 40 frames), and the collector's sweeps of them were the TUI's
stalls: young collections of 5-12 ms several times a second and, every ~10 s, a
middle-generation one of 0.4-0.5 s (measured with `gc.callbacks`, issue 16).

`install()` wraps the two methods: the result is the same, but a result that is the strip
itself is not kept in the strip's own cache (computing it again is the cheap path: nothing is
cut). Other results are cached as before. It touches the cache's private dict; if a Textual
release changes it, `install` does nothing and says so, and tests/test_tui_strip_cycles.py
fails, pointing here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence

from rich.style import Style
from textual.strip import Strip

log = logging.getLogger(__name__)

_INSTALLED = "_ailive_no_self_cycles"


def _wrap_crop_extend(
    original: Callable[[Strip, int, int, Style | None], Strip],
) -> Callable[[Strip, int, int, Style | None], Strip]:
    @functools.wraps(original)
    def crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        strip = original(self, start, end, style)
        if strip is self:
            self._crop_extend_cache._cache.pop((start, end, style), None)
        return strip

    return crop_extend


def _wrap_divide(
    original: Callable[[Strip, Iterable[int]], Sequence[Strip]],
) -> Callable[[Strip, Iterable[int]], Sequence[Strip]]:
    @functools.wraps(original)
    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        strips = original(self, cuts)
        # The strip itself comes back only as [self], when the one cut left is its length:
        # that is then the cache's key. (Called ~900 times a frame at 330x45: kept short.)
        if len(strips) == 1 and strips[0] is self:
            self._divide_cache._cache.pop((self.cell_length,), None)
        return strips

    return divide


def install() -> bool:
    """Wrap Strip.crop_extend and Strip.divide (once per process); False if this Textual's
    Strip is not the one this was written for (nothing is changed then)."""
    if getattr(Strip, _INSTALLED, False):
        return True
    probe = Strip([], 0)
    caches = (getattr(probe, "_crop_extend_cache", None), getattr(probe, "_divide_cache", None))
    if not all(isinstance(getattr(c, "_cache", None), dict) for c in caches):
        log.info("Textual's Strip caches changed: its reference cycles are left as they are")
        return False
    Strip.crop_extend = _wrap_crop_extend(Strip.crop_extend)  # type: ignore[method-assign,assignment]
    Strip.divide = _wrap_divide(Strip.divide)  # type: ignore[method-assign,assignment]
    setattr(Strip, _INSTALLED, True)
    return True
