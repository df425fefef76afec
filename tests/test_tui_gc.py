"""The TUI's garbage: drawing frames of 32 strips at 330x45 makes no full collection (each one
was a 40-150 ms stall, every ~0.9 s at 20 fps, with Python's default thresholds), and the app
leaves the collector as it found it. (Since the drawn lines are no longer reference cycles,
tests/test_tui_strip_cycles.py, the frames make far less garbage: 8 young collections in these
80 frames, against 20 or more before.)

Real app (headless `run_test`), real compositor, hops handed to the mixer screen.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from pathlib import Path
from typing import Any

import numpy as np

from bridge.engine import HopSnapshot
from bridge.tui import make_app
from bridge.tui.app import GC_THRESHOLDS
from tests.paced import until
from tests.test_tui import make_show
from tests.test_tui_snapshots import hop

FRAMES = 80


def moving_hop(k: int) -> HopSnapshot:
    """hop(32, k) with meters that move every hop, as music moves them."""
    snap = hop(32, k)
    swing = 12.0 * np.sin(0.7 * k + np.arange(32))
    return dataclasses.replace(snap, peak_db=snap.peak_db + swing, rms_db=snap.rms_db + swing)


def test_frames_of_32_strips_make_no_full_collection(tmp_path: Path) -> None:
    app = make_app(make_show(32, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=tmp_path)
    before = gc.get_threshold()
    collections = {0: 0, 1: 0, 2: 0}

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            collections[info["generation"]] += 1

    async def body() -> None:
        async with app.run_test(size=(330, 45)) as pilot:
            await until(pilot, lambda: gc.get_threshold() == GC_THRESHOLDS)  # set after mount
            gc.callbacks.append(count)
            try:
                for k in range(FRAMES):
                    app.mixer.draw(moving_hop(k))
                    await pilot.pause(0.02)  # the screen composites the frame
            finally:
                gc.callbacks.remove(count)
            await pilot.press("q")

    asyncio.run(body())
    assert collections[0] >= 1  # the frames allocated: the collector ran while they drew...
    assert collections[2] == 0  # ...and made no full collection
    assert gc.get_threshold() == before
