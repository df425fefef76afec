"""The profiles screen driven with Pilot: bad profiles shown with their error, edits validated,
save-as into the user's folder (never overwriting without a yes), and a live profile switch that
reaches the running engine's safety stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input, OptionList

from bridge.profiles import load_profile
from bridge.safety import ChannelState
from bridge.tui import MixerApp, make_app
from bridge.tui.confirm import ConfirmScreen
from bridge.tui.profiles_screen import ProfilesScreen
from tests.paced import hops_after, latest, quit_and_join, run_until, until
from tests.test_tui import make_show, master_text, run, status_text

BAND = """name = "band"
output = "x32"
host = "10.0.0.5"

[[channels]]
capture = 1
name = "Kick"
floor_db = -30.0
ceiling_db = -20.0
offset_db = -2.0

[[channels]]
capture = 2
name = "Talkback"
protected = true

[[channels]]
capture = 3
strip = 7
"""
BROKEN = 'output = "x32"\nport = "ten"\nchannels = "1-8"\n'


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "user"
    d.mkdir()
    (d / "band.toml").write_text(BAND)
    (d / "broken.toml").write_text(BROKEN)
    return d


def app_for(user_dir: Path, *, seconds: float = 0.5, run_engine: bool = False) -> MixerApp:
    return make_app(
        make_show(4, seconds=seconds), run_engine=run_engine, profile_dirs=[], user_dir=user_dir
    )


def screen_of(app: MixerApp) -> ProfilesScreen:
    screen = app.screen
    assert isinstance(screen, ProfilesScreen)
    return screen


async def pick(app: MixerApp, name: str) -> ProfilesScreen:
    """Highlight the profile file `name` in the list."""
    screen = screen_of(app)
    listing = screen.query_one(OptionList)
    key = next(k for k, e in screen.entries.items() if e.path.name == name)
    listing.highlighted = listing.get_option_index(key)
    return screen


def test_open_shows_the_bad_profile_error_and_escape_goes_back(user_dir: Path) -> None:
    app = app_for(user_dir)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            screen = screen_of(app)
            assert [e.path.name for e in screen.entries.values()] == ["band.toml", "broken.toml"]
            await pick(app, "broken.toml")
            await until(pilot, lambda: "BAD" in screen.check_text)
            assert screen.check_text.endswith(
                "broken.toml: port: must be a whole number from 0 to 65535, got 'ten'"
            )
            assert not screen.table.display
            # The mixer's keys do not leak into this screen: `r` reloads, it releases nothing.
            app.show.engine.safety.set_state(0, ChannelState.LOCKED)
            await pilot.press("r")
            assert app.show.engine.safety.channels[0].state is ChannelState.LOCKED
            await pilot.press("escape")
            assert app.screen is app.mixer
            await pilot.press("q")

    run(body())


def test_switch_live_profile_reaches_the_engine(user_dir: Path) -> None:
    app = app_for(user_dir, seconds=3.0, run_engine=True)
    show = app.show

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await hops_after(pilot, show, 0, 2)
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await until(pilot, lambda: "ok" in screen.check_text)
            await pilot.press("a")
            channels = show.engine.safety.channels
            assert (channels[0].floor_db, channels[0].ceiling_db) == (-30.0, -20.0)
            assert channels[0].offset_db == -2.0
            assert channels[1].state is ChannelState.PROTECTED
            assert channels[3].floor_db == -40.0  # capture 4 is not in the profile
            assert "limits set on 3 of 4 channels" in str(
                screen.query_one("#profile-status").render()
            )
            # The engine now keeps channel 1 at or under its new ceiling (slew-limited on the way).
            await run_until(pilot, show, lambda: latest(show).sent_db[0] <= -20.0 + 1e-9)
            held = latest(show).sent_db[1]
            later = await hops_after(pilot, show, latest(show).index, 3)
            assert later.sent_db[1] == held and later.states[1] == "protected"
            await pilot.press("escape")
            await until(pilot, lambda: "profile: band" in master_text(app))
            assert "limits set on 3 of 4 channels" in status_text(app)
            await pilot.press("q")

    run(body())
    quit_and_join(show)


def test_edit_then_save_as_writes_a_profile_that_loads_back_equal(user_dir: Path) -> None:
    app = app_for(user_dir)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await pilot.press("tab")
            assert app.focused is screen.table
            # Row 0, column "floor": edit it to -35.
            await pilot.press("right", "right", "right", "e")
            assert app.focused is screen.query_one(Input)
            await pilot.press(*"-35", "enter")
            # Row 2: un-map strip 7 to strip 4; then protect it.
            await pilot.press("down", "down", "left", "left", "enter", "4", "enter", "t")
            # Its activity gate off: editing the "gate" cell (six columns right) toggles it.
            await pilot.press(*["right"] * 6, "e")
            draft = screen.draft
            assert draft is not None and draft.profile is not None
            assert draft.profile.channels[0].floor_db == -35.0
            assert draft.profile.channels[2].strip == 4 and draft.profile.channels[2].protected
            assert not draft.profile.channels[2].gate and draft.profile.channels[0].gate
            await pilot.press("s")
            assert screen.query_one(Input).value == "band-copy"
            await pilot.press(*"mine", "enter")
            saved = user_dir / "mine.toml"
            await until(pilot, lambda: saved.exists())
            expected = dataclasses.replace(draft.profile, name="mine", path=saved)
            assert load_profile(saved) == expected
            assert (user_dir / "band.toml").read_text() == BAND
            assert "saved" in str(screen.query_one("#profile-status").render())
            assert screen.current is not None and screen.current.path == saved
            await pilot.press("escape", "q")

    run(body())


def test_save_as_asks_before_overwriting(user_dir: Path) -> None:
    app = app_for(user_dir)
    mine = user_dir / "mine.toml"
    mine.write_text("# hand-written, keep me\n")

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            await pick(app, "band.toml")
            await pilot.press("s", *"mine", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, ProfilesScreen))
            assert mine.read_text() == "# hand-written, keep me\n"
            await pilot.press("s", *"mine", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: load_profile_or_none(mine) is not None)
            assert load_profile(mine).name == "mine"
            await pilot.press("escape", "q")

    run(body())


def load_profile_or_none(path: Path) -> object:
    try:
        return load_profile(path)
    except Exception:
        return None


def test_an_invalid_edit_blocks_save_and_apply(user_dir: Path) -> None:
    app = app_for(user_dir)
    safety = app.show.engine.safety

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await pilot.press("tab", "right", "right", "right", "right", "e", *"-50", "enter")
            assert screen.check_text.startswith("BAD  ")
            assert screen.check_text.endswith(
                "band.toml: channels[0].floor_db: floor -30.0 is above ceiling -50.0"
            )
            before = [dataclasses.astuple(c) for c in safety.channels]
            await pilot.press("a", "s")
            assert [dataclasses.astuple(c) for c in safety.channels] == before
            assert not screen.has_class("-editing")
            assert "fix the error first" in str(screen.query_one("#profile-status").render())
            assert sorted(p.name for p in user_dir.iterdir()) == ["band.toml", "broken.toml"]
            await pilot.press("escape", "q")

    run(body())


def test_numbers_typed_wrong_show_the_cli_error(user_dir: Path) -> None:
    app = app_for(user_dir)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            screen = await pick(app, "band.toml")
            await pilot.press("tab", "right", "right", "right", "right", "right", "e")
            await pilot.press(*"lots", "enter")
            assert "channels[0].offset_db: must be a number from -40 to 40, got 'lots'" in (
                screen.check_text
            )
            await pilot.press("e", "1", "enter")
            assert screen.check_text.startswith("ok ")
            draft = screen.draft
            assert draft is not None and draft.profile is not None
            assert np.isclose(draft.profile.channels[0].offset_db, 1.0)
            await pilot.press("escape", "q")

    run(body())
