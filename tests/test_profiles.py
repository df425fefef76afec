"""Mapping profiles: shipped ones load; bad ones name the file, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import MAPPINGS_DIR
from bridge.profiles import ProfileError, discover, load_profile
from models.activity import GateSettings


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_shipped_profile_loads() -> None:
    good, bad = discover([MAPPINGS_DIR])
    assert not bad, [str(e) for e in bad]
    by_name = {p.name: p for p in good}
    x32 = by_name["x32"]
    assert x32.output == "x32" and x32.port == 10023
    assert [c.capture for c in x32.channels] == list(range(1, 33))
    assert all(c.floor_db == -40.0 for c in x32.channels)


def test_channel_tables_with_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
output = "xair"
[defaults]
ceiling_db = 3.0
[[channels]]
capture = 1
name = "Kick"
[[channels]]
capture = 2
strip = 5
protected = true
gate = false
""",
    )
    p = load_profile(path)
    assert p.port == 10024  # X-Air default
    assert [(c.capture, c.strip, c.ceiling_db) for c in p.channels] == [(1, 1, 3.0), (2, 5, 3.0)]
    assert p.channels[1].protected and p.channels[0].name == "Kick"
    assert p.channels[0].gate and not p.channels[1].gate  # the activity gate is on by default
    assert p.activity == GateSettings()  # no [activity] table: the default levels


def test_activity_table_sets_the_gate_levels(tmp_path: Path) -> None:
    path = write(tmp_path, 'output = "x32"\nchannels = "1-4"\n[activity]\nrelative_db = 30\n')
    p = load_profile(path)
    assert p.activity == GateSettings(relative_db=30.0, floor_dbfs=-60.0)
    gate = p.activity.gate()
    assert (gate.relative_db, gate.floor_dbfs) == (30.0, -60.0)


@pytest.mark.parametrize(
    ("text", "field", "allowed"),
    [
        ('output = "yamaha"\nchannels = "1-4"', "output", "must be one of"),
        ('output = "x32"\nchannels = "4-1"', "channels", "bad channel range"),
        ('output = "x32"\nport = 70000\nchannels = "1-4"', "port", "from 0 to 65535"),
        ('output = "x32"\ncolour = 1\nchannels = "1-4"', "colour", "unknown field"),
        (
            'output = "x32"\n[[channels]]\ncapture = 1\nfloor_db = 0\nceiling_db = -5',
            "channels[0].floor_db",
            "above ceiling",
        ),
        (
            'output = "x32"\n[[channels]]\ncapture = 1\n[[channels]]\ncapture = 1',
            "channels[1].capture",
            "mapped twice",
        ),
        ('output = "x32"\n[[channels]]\ncapture = "one"', "channels[0].capture", "whole number"),
        (
            'output = "x32"\n[[channels]]\ncapture = 1\ngate = "off"',
            "channels[0].gate",
            "true or false",
        ),
        (
            'output = "x32"\nchannels = "1-4"\n[activity]\nrelative_db = 2',
            "activity.relative_db",
            "from",
        ),
        ('output = "x32"\nchannels = "1-4"\n[activity]\nratio = 2', "activity.ratio", "unknown"),
        ('output = "x32"\nchannels = [', "file", "not valid TOML"),
    ],
)
def test_bad_profile_errors_name_file_field_and_rule(
    tmp_path: Path, text: str, field: str, allowed: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}: ")
    assert allowed in message
    assert info.value.field == field


def test_one_bad_profile_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, 'output = "x32"\nchannels = "1-8"', "good.toml")
    write(tmp_path, 'output = "nope"', "bad.toml")
    good, bad = discover([tmp_path])
    assert [p.name for p in good] == ["good"]
    assert len(bad) == 1 and "bad.toml" in str(bad[0])
