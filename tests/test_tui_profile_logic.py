"""The profiles screen's logic without widgets: drafts validate like the CLI, switching the live
profile sets the safety stage's limits."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from bridge.commands import cmd_profiles
from bridge.config import MAPPINGS_DIR
from bridge.live_profile import apply_profile_limits, show_capture_channels
from bridge.profiles import ChannelMap, Profile, ProfileError, discover, load_profile
from bridge.safety import ChannelState, SafetyStage
from bridge.tui.profile_draft import Draft, check_line, parse_cell, scan, short_path


def cli_check(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    cmd_profiles(argparse.Namespace(action="check", files=[str(path)]))
    return capsys.readouterr().out.strip()


def test_check_lines_are_the_clis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('output = "x32"\nport = "ten"\nchannels = "1-8"\n')
    good = tmp_path / "good.toml"
    good.write_text('output = "xair"\nchannels = "1-4"\n')
    [(_, entries)] = scan([tmp_path])
    by_name = {e.path.name: e for e in entries}
    assert by_name["bad.toml"].profile is None and by_name["good.toml"].error is None
    for name in ("bad.toml", "good.toml"):
        e = by_name[name]
        assert check_line(e.path, e.profile, e.error, shown=str(e.path)) == cli_check(
            e.path, capsys
        )
    shown = check_line(bad, None, by_name["bad.toml"].error, shown="~/bad.toml")
    assert shown == "BAD  ~/bad.toml: port: must be a whole number from 0 to 65535, got 'ten'"


def test_draft_edits_validate_with_the_profile_rules(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('output = "x32"\nchannels = "1-3"\n')
    draft = Draft(load_profile(path))
    draft.set_cell(1, "floor_db", parse_cell("floor_db", "9"))
    assert draft.profile is None and isinstance(draft.error, ProfileError)
    assert str(draft.error) == f"{path}: channels[1].floor_db: floor 9.0 is above ceiling 6.0"
    draft.set_cell(1, "floor_db", parse_cell("floor_db", "-12.5"))
    draft.set_cell(2, "strip", parse_cell("strip", "abc"))
    assert draft.error is not None and "channels[2].strip: must be a whole number" in str(
        draft.error
    )
    draft.set_cell(2, "strip", parse_cell("strip", "9"))
    draft.set_cell(0, "protected", parse_cell("protected", "yes"))
    assert draft.profile is not None and draft.edited
    assert draft.profile.channels[1].floor_db == -12.5
    assert draft.profile.channels[2].strip == 9 and draft.profile.channels[0].protected


def test_parse_cell_keeps_what_it_cannot_read() -> None:
    assert parse_cell("capture", " 7 ") == 7
    assert parse_cell("offset_db", "-1.5") == -1.5
    assert parse_cell("offset_db", "loud") == "loud"
    assert parse_cell("protected", "No") is False
    assert parse_cell("protected", "maybe") == "maybe"
    assert parse_cell("name", " Kick ") == "Kick"


def test_short_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert short_path(MAPPINGS_DIR / "x32.toml") == "mappings/x32.toml"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert short_path(tmp_path / ".config" / "a.toml") == "~/.config/a.toml"
    assert short_path(Path("/elsewhere/b.toml")) == "/elsewhere/b.toml"


def profile(channels: list[ChannelMap]) -> Profile:
    return Profile(name="p", output="x32", path=Path("p.toml"), channels=channels)


def test_apply_sets_limits_on_matching_capture_channels() -> None:
    safety = SafetyStage(3, 0.05)
    safety.set_state(0, ChannelState.PROTECTED)
    safety.set_state(2, ChannelState.LOCKED)
    prof = profile(
        [
            ChannelMap(5, 1, floor_db=-30.0, ceiling_db=-10.0, offset_db=2.0),
            ChannelMap(6, 2, protected=True, gate=False),
            ChannelMap(7, 3, floor_db=-20.0, ceiling_db=0.0, offset_db=-1.0),
        ]
    )
    # Show channels 0..2 are capture channels 5, 6 and 9: capture 7 is not in this show.
    result = apply_profile_limits(safety, prof, [5, 6, 9])
    assert result.matched == [0, 1] and result.unmatched == [2]
    c0, c1, c2 = safety.channels
    assert (c0.floor_db, c0.ceiling_db, c0.offset_db) == (-30.0, -10.0, 2.0)
    assert c0.state is ChannelState.AUTO  # no longer protected by the new profile
    assert c1.state is ChannelState.PROTECTED
    assert c0.gate and not c1.gate
    assert c2.state is ChannelState.LOCKED and c2.offset_db == 0.0
    out = safety.process([-50.0, 0.0, 0.0]).out_db
    assert out[0] == pytest.approx(-1.2)  # from 0 dB towards the new floor, slew-limited
    assert "limits set on 2 of 3 channels" in result.describe("p")


def test_apply_with_no_match_changes_nothing() -> None:
    safety = SafetyStage(2, 0.05)
    result = apply_profile_limits(safety, profile([ChannelMap(9, 9, floor_db=-5.0)]), [1, 2])
    assert not result.matched
    assert all(c.floor_db == -40.0 for c in safety.channels)
    assert "nothing changed" in result.describe("p")


def test_floor_above_old_ceiling_is_applied() -> None:
    safety = SafetyStage(1, 0.05)
    apply_profile_limits(safety, profile([ChannelMap(1, 1, floor_db=8.0, ceiling_db=10.0)]), [1])
    assert (safety.channels[0].floor_db, safety.channels[0].ceiling_db) == (8.0, 10.0)


def test_capture_channels_of_a_show() -> None:
    capture = SimpleNamespace(channels=[2, 3, 10])  # a live capture's 0-based device channels
    assert show_capture_channels(capture, 3) == [3, 4, 11]
    assert show_capture_channels(object(), 2) == [1, 2]


def test_every_shipped_profile_makes_a_draft_that_validates_back_equal() -> None:
    good, bad = discover([MAPPINGS_DIR])
    assert good and not bad
    for prof in good:
        draft = Draft(prof)
        draft.validate()
        assert draft.error is None and draft.profile == prof, prof.name
        draft.set_cell(0, "floor_db", -20.0)
        assert draft.profile is not None and draft.profile.channels[0].floor_db == -20.0
