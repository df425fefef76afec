"""Profiles that `save_profile` writes load back equal; existing files are replaced on request."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bridge.config import MAPPINGS_DIR
from bridge.profile_writer import profile_to_toml, save_profile
from bridge.profiles import ChannelMap, Profile, discover, load_profile


def band_profile(path: Path) -> Profile:
    return Profile(
        name="band",
        output="xair",
        path=path,
        host="10.0.0.5",
        port=10024,
        description='Sunday "band" \\ with a tab\tand ünïcode',
        max_rate_hz=12.5,
        channels=[
            ChannelMap(1, 3, "Kick", floor_db=-30.0, ceiling_db=3.0, offset_db=-1.5),
            ChannelMap(2, 1, "Talkback", protected=True),
            ChannelMap(5, 7, "Vox\x7f", floor_db=-90.0, ceiling_db=10.0, offset_db=40.0),
        ],
    )


def test_round_trip_is_equal(tmp_path: Path) -> None:
    path = tmp_path / "user" / "band.toml"
    prof = band_profile(Path("elsewhere.toml"))
    assert save_profile(prof, path) == path
    assert load_profile(path) == dataclasses.replace(prof, path=path)


def test_every_shipped_profile_round_trips(tmp_path: Path) -> None:
    good, bad = discover([MAPPINGS_DIR])
    assert good and not bad
    for prof in good:
        path = save_profile(prof, tmp_path / prof.path.name)
        assert load_profile(path) == dataclasses.replace(prof, path=path)


def test_one_line_per_channel(tmp_path: Path) -> None:
    text = profile_to_toml(band_profile(tmp_path / "b.toml"))
    rows = [line for line in text.splitlines() if line.strip().startswith("{ capture = ")]
    assert len(rows) == 3
    assert text.startswith("# Written by")


def test_never_overwrites_without_being_asked(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("# someone's own profile\n")
    with pytest.raises(FileExistsError):
        save_profile(band_profile(path), path)
    assert path.read_text() == "# someone's own profile\n"
    save_profile(band_profile(path), path, overwrite=True)
    assert load_profile(path).name == "band"


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    prof = band_profile(tmp_path / "x.toml")
    prof.channels[0].offset_db = float("nan")
    with pytest.raises(ValueError, match="nan"):
        save_profile(prof, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()
