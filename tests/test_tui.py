"""The mixer TUI driven with Textual's Pilot against a real Show (synthetic song, autofader)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import numpy as np
import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from bridge.engine import HopSnapshot
from bridge.safety import ChannelState, Mode
from bridge.show import Show
from bridge.sources import FileSource
from bridge.tui import MixerApp, make_app
from bridge.tui.master import model_label
from bridge.tui.messages import EngineFinished, HopUpdate
from bridge.tui.strip import ChannelStrip
from models.gainsource import GainSource, UnityGains, make_gain_source
from tests.paced import (
    hops_after,
    latest,
    moving_song,
    paced_show,
    quit_and_join,
    run_until,
    until,
    wait_for,
)


def make_show(
    n_channels: int = 8, seconds: float = 3.0, gain_source: GainSource | None = None
) -> Show:
    """A show the test paces (see tests/paced.py) of `moving_song` through the autofader."""
    return paced_show(n_channels, seconds, gain_source)


def ended_show(n_channels: int = 8, seconds: float = 0.4) -> Show:
    """A show that runs to its end on its own (as fast as it can, no deadline)."""
    source = FileSource(moving_song(n_channels, seconds), realtime=False)
    return paced_show(source=source)


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def strips(app: MixerApp) -> list[ChannelStrip]:
    return list(app.query(ChannelStrip))


def master_text(app: MixerApp) -> str:
    return str(app.query_one("#info", Static).content)


def status_text(app: MixerApp) -> str:
    return str(app.query_one("#status", Static).content)


def test_hop_updates_coalesce() -> None:
    show = make_show(2, seconds=0.2)
    snap = HopSnapshot(0, 0.05, *(np.zeros(2),) * 4, 0.1, 0, 0, "", "auto", ["auto"] * 2)
    assert HopUpdate(snap).can_replace(HopUpdate(snap))
    assert not HopUpdate(snap).can_replace(EngineFinished())
    show.close()


def test_starts_shows_names_and_hop_figures_and_quits() -> None:
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            shown = strips(app)
            assert [s.text.splitlines()[0] for s in shown] == [
                f"{i + 1} {name}" for i, name in enumerate(show.names)
            ]
            # Hop 3 is the last one the engine gets until the test steps on: it stays up.
            await hops_after(pilot, show, 0, 3)
            await until(pilot, lambda: "hop 3 " in master_text(app))
            text = master_text(app)
            assert "gains: autofader" in text and "AUTO" in text
            assert "ms / 50 ms" in text and "misses 0" in text and "faults 0" in text
            assert "automation: recording" in text
            # Strips show levels once hops arrive.
            assert "pk " in shown[0].text and "out" in shown[0].text
            await pilot.press("q")
        wait_for(show.done.is_set, "the engine to stop after q")
        assert show.engine.stats.stopped_by == "stop requested"

    run(body())


def test_hops_and_the_show_s_end_after_the_app_closed_draw_nothing() -> None:
    # Whatever order the show and the app end in: a hop, the show's end or a pending redraw that
    # reaches an app whose screens are gone is dropped, not drawn (no ScreenStackError).
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            snap = await hops_after(pilot, show, 0, 1)
            await pilot.press("q")
        assert not app.is_running and not app.screen_stack
        app.on_hop_update(HopUpdate(snap))
        app.on_engine_finished(EngineFinished())
        app._render_now()

    run(body())
    quit_and_join(show)


def test_space_freezes_and_resumes() -> None:
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            first = (await hops_after(pilot, show, 0, 2)).sent_db.copy()
            moving = (await hops_after(pilot, show, latest(show).index, 3)).sent_db.copy()
            assert not np.allclose(first, moving), "the faders must move before freezing"

            await pilot.press("space")
            assert show.engine.safety.mode is Mode.FREEZE
            at_press = latest(show).index
            # One hop may have been processed before the press landed; the next is frozen.
            frozen = await hops_after(pilot, show, at_press, 2)
            later = await hops_after(pilot, show, frozen.index, 3)
            assert later.mode == "freeze"
            np.testing.assert_array_equal(frozen.sent_db, later.sent_db)
            await run_until(pilot, show, lambda: "FREEZE" in master_text(app))

            await pilot.press("space")
            assert show.engine.safety.mode is Mode.AUTO
            resumed = await hops_after(pilot, show, later.index, 4)
            assert not np.allclose(resumed.sent_db, later.sent_db)
            await pilot.press("q")

    run(body())
    quit_and_join(show)


def test_lock_then_undo() -> None:
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            await hops_after(pilot, show, 0, 1)
            await pilot.press("k")
            assert show.engine.safety.channels[0].state is ChannelState.LOCKED
            await run_until(pilot, show, lambda: latest(show).states[0] == "locked")
            await run_until(pilot, show, lambda: "locked" in strips(app)[0].text)

            await pilot.press("u")
            assert show.engine.safety.channels[0].state is ChannelState.AUTO
            await run_until(pilot, show, lambda: latest(show).states[0] == "auto")
            await pilot.press("q")

    run(body())
    quit_and_join(show)


def test_offset_nudges_and_undo() -> None:
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            await hops_after(pilot, show, 0, 1)
            channels = show.engine.safety.channels
            await pilot.press("right_square_bracket")
            assert channels[0].offset_db == pytest.approx(3.0)
            await until(pilot, lambda: "off  +3.0" in strips(app)[0].text)
            await pilot.press("minus")
            assert channels[0].offset_db == pytest.approx(2.5)
            await pilot.press("u")
            assert channels[0].offset_db == pytest.approx(3.0)
            await pilot.press("u")
            assert channels[0].offset_db == pytest.approx(0.0)
            assert all(c.offset_db == 0.0 for c in channels[1:])
            await pilot.press("q")

    run(body())
    quit_and_join(show)


def test_manual_level_follows_plus_minus() -> None:
    # Without the engine the safety stage still takes the keys; nothing moves on its own.
    show = make_show(seconds=0.5)

    async def body() -> None:
        app = make_app(show, run_engine=False)
        async with app.run_test(size=(100, 30)) as pilot:
            safety = show.engine.safety
            await pilot.press("l", "m")
            assert safety.channels[1].state is ChannelState.MANUAL
            assert safety.channels[1].manual_db == pytest.approx(safety.current_db[1])
            await pilot.press("plus", "plus", "left_square_bracket")
            assert safety.channels[1].manual_db == pytest.approx(-2.0)
            assert safety.channels[1].offset_db == 0.0
            await pilot.press("r")
            assert safety.channels[1].state is ChannelState.AUTO
            await pilot.press("q")
        assert not show.done.is_set()  # it never ran; quitting only asked it to stop

    run(body())


def test_human_override_shows_and_releases() -> None:
    show = make_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            await hops_after(pilot, show, 0, 1)
            show.engine.human_move(2, -5.0)
            strip3 = strips(app)[2]
            await run_until(pilot, show, lambda: "human" in strip3.text)
            assert latest(show).sent_db[2] == pytest.approx(-5.0)

            await pilot.press("right", "right")
            assert strip3.has_class("-selected") and not strips(app)[0].has_class("-selected")
            await pilot.press("r")
            assert show.engine.safety.channels[2].state is ChannelState.AUTO
            await run_until(pilot, show, lambda: latest(show).states[2] == "auto")
            await run_until(pilot, show, lambda: "auto" in strip3.text.splitlines()[2])
            await pilot.press("ctrl+c")
        wait_for(show.done.is_set, "the engine to stop after ctrl+c")
        assert show.engine.stats.stopped_by == "stop requested"

    run(body())


def test_finished_stays_up_until_q() -> None:
    show = ended_show()

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: "finished — press q" in status_text(app))
            assert show.done.is_set() and app.is_running
            final = latest(show)
            assert f"hop {final.index} " in master_text(app)
            await pilot.press("q")

    run(body())
    quit_and_join(show)


def test_exit_when_done() -> None:
    show = ended_show()

    async def body() -> None:
        app = make_app(show, exit_when_done=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: not app.is_running)
        assert show.done.is_set()
        assert not app.is_running

    run(body())


def test_32_channels_at_80x24() -> None:
    show = make_show(32, seconds=2.0)

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(80, 24)) as pilot:
            await hops_after(pilot, show, 0, 2)
            shown = strips(app)
            assert len(shown) == 32
            assert all(s.size.height >= 10 and s.size.width > 0 for s in shown)
            await pilot.press(*["l"] * 31)
            assert shown[31].has_class("-selected")
            scroller = app.query_one("#strips")
            assert scroller.scroll_x > 0
            assert scroller.region.contains_region(shown[31].region)
            # Every key binding is on screen in the footer.
            keys = list(app.query(FooterKey))
            assert {k.action for k in keys} >= {"freeze", "bypass", "lock", "undo", "quit"}
            assert all(k.region.x >= 0 and k.region.right <= 80 for k in keys)
            await pilot.press("q")

    run(body())
    quit_and_join(show)


class MultiRate(UnityGains):
    """RAW gains under a network's name and rate: what the master panel says about the model."""

    name = "alm"
    rate = "mr"


def test_master_shows_model_rate_profile_and_outputs() -> None:
    assert model_label(make_gain_source("raw")) == "raw"
    show = make_show(4, seconds=0.3, gain_source=MultiRate())

    async def body() -> None:
        app = make_app(show, run_engine=False, live_profile="x32")
        async with app.run_test(size=(80, 24)) as pilot:
            text = master_text(app)
            assert "gains: alm (MR)" in text
            assert "profile: x32" in text and "p profiles" in text
            assert "automation: recording, 0 points" in text
            await pilot.press("q")

    run(body())
