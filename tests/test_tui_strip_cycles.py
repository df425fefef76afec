"""Textual's strips without self-reference cycles (bridge/tui/strip_cycles.py): a line the
compositor cut is freed when it is dropped, not left for the garbage collector, and the wrapped
methods give what Textual's own give. Before the wrap every drawn line of a 32-strip frame at
330x45 was a cycle: ~4,300 objects a frame, and collector sweeps of up to half a second.

Real Textual Strip objects, and the real app (headless `run_test`) for the frames.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from bridge.tui import make_app
from bridge.tui.strip_cycles import install
from tests.test_tui import make_show
from tests.test_tui_gc import moving_hop


@pytest.fixture
def no_auto_gc() -> Iterator[None]:
    """The collector runs only when the test calls it (so what it finds is what was made)."""
    enabled = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def strip() -> Strip:
    return Strip([Segment("abc", Style(bold=True)), Segment("de")], 5)


def test_install_applies_to_this_textual() -> None:
    assert install()  # the app installs it at import; a second call changes nothing
    assert install()


def test_a_strip_that_is_its_own_crop_or_division_is_freed_without_the_collector(
    no_auto_gc: None,
) -> None:
    install()
    for _ in range(100):
        s = strip()
        assert s.crop_extend(0, 5, None) is s  # nothing to cut: the strip itself
        assert s.divide([5]) == [s]
        s.crop_extend(1, 4, None)  # real cuts are still cached (they do not hold the strip)
        s.divide([2, 5])
        del s
    assert gc.collect() == 0  # nothing was left in a cycle


def test_the_wrapped_methods_give_what_textual_gives() -> None:
    install()
    s = strip()
    assert s.crop_extend(1, 7, Style(italic=True)).text == "bcde  "
    assert [p.text for p in s.divide([1, 3, 5])] == ["a", "bc", "de"]
    assert [p.text for p in s.divide([5, 9])] == ["abcde"]  # cuts past the end are dropped
    again = s.crop_extend(1, 4, None)
    assert again is s.crop_extend(1, 4, None)  # a real cut comes from the cache
    assert again.text == "bcd"


def test_frames_of_32_strips_leave_almost_no_cyclic_garbage(
    tmp_path: Path, no_auto_gc: None
) -> None:
    app = make_app(make_show(32, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=tmp_path)
    found: list[int] = []

    async def body() -> None:
        async with app.run_test(size=(330, 45)) as pilot:
            gc.disable()  # the app sets its thresholds after mount; the test keeps it off
            for k in range(10):
                app.mixer.draw(moving_hop(k))
                await pilot.pause(0.02)
            gc.collect()  # the first frames' one-off objects (styles, layout)
            for k in range(10, 50):
                app.mixer.draw(moving_hop(k))
                await pilot.pause(0.02)  # the screen composites the frame
            found.append(gc.collect())
            await pilot.press("q")

    asyncio.run(body())
    # 0 here; the strips left ~174,000 (4,300 a frame) with Textual's methods as they are.
    assert found[0] < 500
