"""Strips an engineer can read (numbers, full names, a dB scale, the scroll position, the desk's
state), jumping to a channel by typing its number, and the help screen from the bindings.

Snapshots: regenerate after an intended change with
`pytest tests/test_tui_readable.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/test_tui_readable/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.pilot import Pilot

from bridge.config import REPO_ROOT
from bridge.show import Show
from bridge.sources import FileSource
from bridge.tui import MixerApp, make_app
from bridge.tui.help_screen import HelpScreen
from bridge.tui.keys import README_END, README_START, key_label, readme_table
from bridge.tui.mixer_screen import MixerScreen
from bridge.tui.strip import ChannelStrip, scale_labels, shown_state, wrap_name
from bridge.tui.strip_jump import ChannelJump, visible_range
from models.gainsource import make_gain_source
from tests.test_tui import moving_song, until
from tests.test_tui_snapshots import feed as feed_hops
from tests.test_tui_snapshots import hop

SnapCompare = Callable[..., bool]

BAND = ["Kick In", "Kick Out", "Snare Top", "Snare Bot", "Hi-Hat", "Tom 1", "Tom 2", "Floor Tom"]
BAND += ["Overhead_L", "Overhead_R", "Overhead_C", "Overhead_X", "Bass DI", "Bass Amp"]
BAND += ["Gtr L", "Gtr R", "Acoustic", "Keys L", "Keys R", "Organ", "Synth Pad", "Lead Vox"]
BAND += ["BV 1", "BV 2", "BV 3", "Choir L", "Choir R", "Sax", "Trumpet", "Trombone", "Talkback"]
BAND += ["Playback"]
assert len(BAND) == 32


def band_app(tmp_path: Path, n: int = 32) -> MixerApp:
    source = FileSource(moving_song(n, 0.2), realtime=True)
    show = Show(source, make_gain_source("autofader"), names=BAND[:n])
    app = make_app(show, run_engine=False, profile_dirs=[], user_dir=tmp_path)
    app.mixer.jump.window_s = 3600.0  # digits typed by a test are one number however slow
    return app


def feed(app: MixerApp, hops: int = 40) -> Callable[[Pilot[Any]], Any]:
    """The snapshots' feed (hops handed to the show, then drawn and settled), 40 hops."""
    return feed_hops(app, hops)


def strip_texts(app: MixerApp) -> list[str]:
    return [s.text for s in app.query(ChannelStrip)]


def in_view(app: MixerApp, index: int) -> bool:
    row = app.mixer.query_one("#strips", HorizontalScroll)
    strip = app.mixer.strips[index]
    return row.region.contains_region(strip.region)


# Pieces.


def test_number_and_full_name_on_two_lines() -> None:
    assert wrap_name(1, "Kick", 9) == ["1 Kick", ""]
    assert wrap_name(9, "Overhead", 9) == ["9", "Overhead"]
    assert wrap_name(12, "Snare Top", 9) == ["12", "Snare Top"]
    assert wrap_name(12, "Snare Bottom", 9) == ["12 Snare", "Bottom"]
    assert wrap_name(9, "Overhead_L", 9) == ["9 Overhea", "d_L"]
    assert wrap_name(3, "Over_head_L", 9) == ["3 Over_", "head_L"]
    for n in (1, 32):  # an X32 name has at most 12 characters: every one fits
        lines = wrap_name(n, "ABCDEFGHIJKL", 9)
        assert "".join(lines).replace(" ", "") == f"{n}ABCDEFGHIJKL"


def test_scale_labels_are_round_and_fit() -> None:
    assert scale_labels(4) == {0: "  0", 1: "-15", 2: "-30", 3: "-45"}
    tall = scale_labels(30)
    assert len(tall) == 10 and tall[3] == " -6"
    for rows in range(1, 40):
        labels = scale_labels(rows)
        assert labels[0] == "  0" and all(0 <= r < rows for r in labels)


def test_the_desks_state_shows_on_every_strip_it_holds() -> None:
    assert shown_state("auto", "freeze") == "frozen"
    assert shown_state("auto", "bypass") == "bypass"
    assert shown_state("auto", "restore") == "restore"
    assert shown_state("locked", "freeze") == "locked"  # the engineer's own state wins
    assert shown_state("auto", "auto") == "auto"
    assert shown_state("auto", "auto", "lost: no reply") == "link lost"
    assert shown_state("auto", listen=True) == "listen"
    assert shown_state("auto", range_db=6.0) == "auto ±6"
    assert shown_state("human", range_db=6.0) == "human"
    assert shown_state("auto", "freeze", listen=True) == "frozen"
    assert shown_state("auto", quiet=True, range_db=6.0) == "quiet"  # only bleed: held
    assert shown_state("human", quiet=True) == "human"
    assert shown_state("auto", "freeze", quiet=True) == "frozen"


def test_typed_digits_make_one_number_within_the_window() -> None:
    now = [0.0]
    jump = ChannelJump(32, window_s=1.5, clock=lambda: now[0])
    assert jump.type(1) == 0
    assert jump.type(2) == 11  # 12
    assert jump.type(5) == 4  # 125 is no channel: 5
    now[0] += 2.0
    assert jump.type(3) == 2  # too late to join the 5
    assert jump.type(2) == 31
    assert jump.type(0) is None  # 320 is past the end, 0 is no channel
    short = ChannelJump(8, clock=lambda: 0.0)
    assert short.type(1) == 0 and short.type(2) == 1  # 12 > 8 channels: 2


def test_visible_range_counts_whole_strips() -> None:
    assert visible_range(0, 80, 10) == (1, 8)
    assert visible_range(45, 80, 10) == (6, 12)
    assert visible_range(0, 0, 10) == (1, 0)


# The app.


def test_typing_a_channel_number_lands_on_it(tmp_path: Path) -> None:
    async def body() -> None:
        app = band_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app)(pilot)
            await pilot.press("2", "7")
            await until(pilot, lambda: app.mixer.selected == 26 and in_view(app, 26))
            assert app.mixer.strips[26].selected and not app.mixer.strips[0].selected
            assert f"channel 27 {BAND[26]}" in app.mixer.status_text
            shown = re.fullmatch(r"strips (\d+)-(\d+) of 32", app.mixer.scroll_text)
            assert shown is not None and int(shown[1]) <= 27 <= int(shown[2])
            await pilot.press("l")
            await until(pilot, lambda: app.mixer.selected == 27 and in_view(app, 27))
            # A channel past the last one: refused with a message, the selection stays.
            app.mixer.jump.window_s = -1.0
            await pilot.press("0")
            assert app.mixer.selected == 27 and "no channel 0" in app.mixer.status_text

    asyncio.run(body())


def test_strips_show_numbers_full_names_scale_and_position(tmp_path: Path) -> None:
    async def body() -> None:
        app = band_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app)(pilot)
            texts = strip_texts(app)
            for i, text in enumerate(texts[:8]):
                lines = text.splitlines()
                assert lines[0].split()[0] == str(i + 1)
                # The full name, on the number's line and the next (spaces aside: the break).
                assert BAND[i].replace(" ", "") in "".join(lines[:2]).replace(" ", "")
            first = texts[0].splitlines()
            assert first[3].endswith("0") and "-15" in first[4]  # the meter's dB scale
            assert app.mixer.scroll_text == "strips 1-8 of 32"
            assert app.mixer.master is not None
            assert "strips 1-8 of 32" in str(app.mixer.master.border_title)
            await pilot.press("space")  # freeze the desk: every auto strip says so
            await until(pilot, lambda: app.show.engine.safety.mode.value == "freeze")
            on_hop = app.show.engine.on_hop
            assert on_hop is not None
            snap = hop(32, 99)
            snap.mode = "freeze"
            on_hop(snap)
            await until(pilot, lambda: "frozen" in strip_texts(app)[0])
            assert "locked" in strip_texts(app)[2]

    asyncio.run(body())


def test_help_lists_every_binding_and_closes(tmp_path: Path) -> None:
    async def body() -> None:
        app = band_app(tmp_path, 8)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert isinstance(app.screen, HelpScreen)
            text = app.screen.text
            for b in MixerScreen.BINDINGS:
                assert isinstance(b, Binding)
                assert f" {key_label(b)} " in f" {text} ", key_label(b)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.mixer)

    asyncio.run(body())


def test_every_binding_is_in_the_footer_or_the_help() -> None:
    help_text = readme_table()
    for b in MixerScreen.BINDINGS:
        assert isinstance(b, Binding)
        assert b.show or f"`{key_label(b)}`" in help_text


def test_readme_key_table_is_the_bindings() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert README_START in readme and README_END in readme, "README has no key table"
    block = readme[readme.index(README_START) : readme.index(README_END) + len(README_END)]
    assert block == readme_table(), (
        "README's key table differs from the bindings: paste `python -m bridge.tui.keys`"
    )


# Snapshots (32 channels, the band's names).


def test_snapshot_32_channels_80x24_jumped(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = band_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed(app), press=["1", "2"])


def test_snapshot_32_channels_200x50(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = band_app(tmp_path)
    assert snap_compare(app, terminal_size=(200, 50), run_before=feed(app), press=["2", "9"])


def test_snapshot_help_80x24(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = band_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed(app), press=["question_mark"])


def test_snapshot_help_200x50(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = band_app(tmp_path)
    assert snap_compare(app, terminal_size=(200, 50), run_before=feed(app), press=["question_mark"])


def test_listen_and_relative_ride_show_on_the_strips(tmp_path: Path) -> None:
    from bridge.outputs.automation import AutomationRecorder

    class ListeningRecorder(AutomationRecorder):
        """Stands in for an output in listen mode (the outputs carry `listen`); records only."""

        listen = True

    source = FileSource(moving_song(4, 0.2), realtime=True)
    quiet = Show(source, make_gain_source("autofader"), sinks=[ListeningRecorder(BAND[:4])])
    app = make_app(quiet, run_engine=False, profile_dirs=[], user_dir=tmp_path)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await feed(app, 3)(pilot)
            await until(pilot, lambda: "listen" in strip_texts(app)[0])
            # A relative ride (where the build has one) shows each channel's range.
            setattr(quiet.engine.safety, "ride", "relative")  # noqa: B010
            for ch in quiet.engine.safety.channels:
                setattr(ch, "range_db", 6.0)  # noqa: B010
            quiet.sinks.pop()  # and no listening output any more
            on_hop = quiet.engine.on_hop
            assert on_hop is not None
            on_hop(hop(4, 10))
            await until(pilot, lambda: "auto ±6" in strip_texts(app)[0])
            assert "locked" in strip_texts(app)[2]

    asyncio.run(body())
