"""Undo, lock and apply as an engineer expects: undo takes back only the engineer's own actions,
newest first, profile applies included; applying a profile that replaces an offset asks first;
a trim on a locked or person-held channel is refused with a message (no deferred jump).

The desk tests drive a real SafetyStage; the app tests a real Show and profile files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.safety import ChannelState, Mode, SafetyStage
from bridge.tui.confirm import ConfirmScreen
from bridge.tui.overrides import OverrideDesk
from tests.test_tui import run, status_text, until
from tests.test_tui_profiles import BAND, app_for, pick, screen_of

NAMES = ["Kick", "Talkback", "Gtr", "Vox"]


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "user"
    d.mkdir()
    (d / "band.toml").write_text(BAND)
    (d / "plain.toml").write_text('name = "plain"\noutput = "x32"\nchannels = "1-4"\n')
    return d


def desk() -> OverrideDesk:
    return OverrideDesk(SafetyStage(4, 0.05), NAMES)


def test_a_trim_on_a_locked_channel_is_refused_with_a_message() -> None:
    d = desk()
    d.toggle_lock(0)
    said = d.nudge(0, 3.0)
    assert "Kick is locked" in said and "unlock (k) first" in said
    assert d.safety.channels[0].offset_db == 0.0
    # Nothing was waiting: unlocking leaves the offset at zero, so nothing jumps.
    d.toggle_lock(0)
    out = d.safety.process(np.full(4, -10.0)).out_db
    assert out[0] == pytest.approx(-1.2)  # one slew step from 0 dB, no offset on top
    d.safety.set_state(1, ChannelState.HUMAN, -5.0)
    assert "held by a person" in d.nudge(1, -3.0)
    assert d.safety.channels[1].offset_db == 0.0


def test_undo_goes_back_in_order_and_names_what_it_undid() -> None:
    d = desk()
    d.toggle_freeze()
    d.nudge(2, 3.0)
    d.toggle_lock(3)
    assert d.undo() == "undid Vox lock: auto, offset +0.0 dB"
    assert d.safety.channels[3].state is ChannelState.AUTO
    assert d.undo() == "undid Gtr +3.0 dB: auto, offset +0.0 dB"
    assert d.safety.channels[2].offset_db == 0.0
    assert d.safety.mode is Mode.FREEZE
    assert d.undo() == "undid freeze: mode auto"
    assert d.safety.mode is Mode.AUTO
    assert d.undo() == "nothing to undo"


def test_a_recorded_change_is_undone_on_every_channel() -> None:
    d = desk()
    d.nudge(0, 3.0)
    entry = d.record("profile band")
    ch = d.safety.channels
    ch[0].floor_db, ch[0].ceiling_db = -30.0, -20.0
    d.safety.nudge_offset(0, -5.0)
    d.safety.set_state(1, ChannelState.PROTECTED)
    assert entry is d.undo_stack[-1]
    assert d.undo() == "undid profile band: 4 channels as before"
    assert (ch[0].floor_db, ch[0].ceiling_db, ch[0].offset_db) == (-40.0, 6.0, 3.0)
    assert ch[1].state is ChannelState.AUTO
    assert d.undo().startswith("undid Kick +3.0 dB")


def test_offsets_dropped_names_only_the_offsets_a_change_replaces() -> None:
    d = desk()
    d.nudge(0, 3.0)
    d.nudge(2, -1.5)
    assert d.offsets_dropped({0: 0.0, 1: -2.0, 2: -1.5}) == ["Kick +3.0 -> +0.0 dB"]


def test_applying_a_profile_over_an_offset_asks_first_and_undo_takes_it_back(
    user_dir: Path,
) -> None:
    app = app_for(user_dir)
    channels = app.show.engine.safety.channels

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("right_square_bracket")  # Kick +3 dB
            assert channels[0].offset_db == 3.0
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await until(pilot, lambda: "ok" in screen.check_text)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert isinstance(app.screen, ConfirmScreen)
            question = app.screen.question
            assert "replaces the offset on 1 channel: Ch0 +3.0 -> -2.0 dB" in question
            await pilot.press("n")  # keep the offset: nothing changes
            await until(pilot, lambda: app.screen is screen)
            assert channels[0].offset_db == 3.0 and channels[0].floor_db == -40.0
            assert "not applied" in str(screen.query_one("#profile-status").render())
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: channels[0].offset_db == -2.0)
            assert channels[1].state is ChannelState.PROTECTED
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.mixer)
            await pilot.press("u")  # the whole apply goes back, and only it
            assert "undid profile band" in status_text(app)
            assert (channels[0].floor_db, channels[0].ceiling_db) == (-40.0, 6.0)
            assert channels[0].offset_db == 3.0
            assert channels[1].state is ChannelState.AUTO
            await pilot.press("u")  # then the engineer's own +3 dB
            assert channels[0].offset_db == 0.0
            assert app.show.engine.safety.mode is Mode.AUTO

    run(body())


def test_applying_a_profile_with_no_offset_to_lose_asks_nothing(user_dir: Path) -> None:
    app = app_for(user_dir)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await until(pilot, lambda: "ok" in screen.check_text)
            await pilot.press("a")
            await until(pilot, lambda: app.show.engine.safety.channels[0].offset_db == -2.0)
            assert screen_of(app) is screen

    run(body())
