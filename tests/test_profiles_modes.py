"""Profile fields for stage safety: mode, on_resync and the per-channel relative range_db."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import MAPPINGS_DIR
from bridge.profiles import ProfileError, discover, load_profile


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_cautious_ones(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, 'output = "x32"\nchannels = "1-2"\n'))
    assert (p.mode, p.on_resync) == ("absolute", "hold")
    assert [c.range_db for c in p.channels] == [6.0, 6.0]


def test_modes_and_ranges_are_read(tmp_path: Path) -> None:
    text = """
output = "reaper"
mode = "relative"
on_resync = "adopt"
[defaults]
range_db = 3.0
[[channels]]
capture = 1
[[channels]]
capture = 2
range_db = 1.5
"""
    p = load_profile(write(tmp_path, text))
    assert (p.mode, p.on_resync) == ("relative", "adopt")
    assert [c.range_db for c in p.channels] == [3.0, 1.5]


@pytest.mark.parametrize(
    ("line", "field", "allowed"),
    [
        ('mode = "loud"', "mode", "'absolute', 'relative', 'listen'"),
        ('on_resync = "fight"', "on_resync", "'hold', 'adopt'"),
    ],
)
def test_a_bad_choice_names_the_field_and_the_choices(
    tmp_path: Path, line: str, field: str, allowed: str
) -> None:
    with pytest.raises(ProfileError, match=f"{field}: must be one of \\[{allowed}\\]"):
        load_profile(write(tmp_path, f'output = "x32"\nchannels = "1-2"\n{line}\n'))


def test_range_is_bounded(tmp_path: Path) -> None:
    text = 'output = "x32"\n[[channels]]\ncapture = 1\nrange_db = 90\n'
    with pytest.raises(ProfileError, match=r"channels\[0\]\.range_db: must be from 0 to 40"):
        load_profile(write(tmp_path, text))


def test_shipped_console_profiles_say_their_mode() -> None:
    good, _ = discover([MAPPINGS_DIR])
    for p in good:
        if p.output in ("x32", "xair", "reaper"):
            assert (p.mode, p.on_resync) == ("absolute", "hold"), p.name
