"""The TUI's restore key: every fader glides back to the soundcheck snapshot, then holds."""

from __future__ import annotations

import asyncio

import numpy as np

from bridge.safety import Mode
from bridge.tui import make_app
from tests.paced import hops_after, quit_and_join, run_until
from tests.test_tui import make_show


def test_s_restores_the_snapshot_then_freezes() -> None:
    show = make_show(4, seconds=6.0)
    show.engine.safety.adopt([-10.0, -5.0, -20.0, -3.0], snapshot=True)

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            await hops_after(pilot, show, 0, 5)  # the model moved away from the snapshot
            await pilot.press("s")
            assert show.engine.safety.mode in (Mode.RESTORE, Mode.FREEZE)
            await run_until(pilot, show, lambda: show.engine.safety.mode is Mode.FREEZE)
            assert np.array_equal(show.engine.safety.current_db, [-10.0, -5.0, -20.0, -3.0])
            await pilot.press("q")

    asyncio.run(body())
    quit_and_join(show)
