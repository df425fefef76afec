"""REAPER automation writing: simplification within 0.1 dB, envelopes that parse back with `rpp`
into the same levels, and an existing project that keeps everything else byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rpp

from bridge.outputs.base import GainSink
from bridge.outputs.rpp.envelope import (
    MAX_AMPLITUDE,
    db_to_amplitude,
    envelope_points,
    simplify,
    volume_envelope,
)
from bridge.outputs.rpp.writer import RppError, RppRecorder, write_automation

FIXTURE = Path(__file__).parent / "fixtures" / "existing.RPP"
HOP = 0.05


def show_gains(seconds: float = 20.0, channels: int = 3, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(times (hops,), gains (hops, channels)): slow rides, a step, a flat line, as a show makes."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, seconds, HOP)
    rides = -12.0 + 4.0 * np.sin(2 * np.pi * times[:, None] / rng.uniform(4, 9, channels))
    rides[times > seconds / 2, 0] += 6.0  # a solo
    rides[:, -1] = -8.0
    rides += rng.normal(0.0, 0.02, rides.shape)  # the model's tiny wobble
    return times, rides


def reaper_curve(times: np.ndarray, env_times: np.ndarray, env_db: np.ndarray) -> np.ndarray:
    """The level REAPER plays at `times`: shape-0 points joined linearly in amplitude."""
    amp = np.interp(times, env_times, db_to_amplitude(env_db))
    return 20 * np.log10(amp)


def tracks_of(project: rpp.Element) -> dict[str, rpp.Element]:
    out = {}
    for track in project.findall("TRACK"):
        name = next(row[1] for row in track if isinstance(row, list) and row[0] == "NAME")
        out[name] = track
    return out


# --- pure parts --------------------------------------------------------------------------------


def test_amplitude_scale() -> None:
    assert db_to_amplitude(np.array([0.0]))[0] == 1.0
    assert db_to_amplitude(np.array([-20.0]))[0] == pytest.approx(0.1)
    assert db_to_amplitude(np.array([12.0]))[0] == MAX_AMPLITUDE  # REAPER's envelope ceiling
    assert db_to_amplitude(np.array([-np.inf]))[0] > 0.0


def test_envelope_chunk_fixture() -> None:
    env = volume_envelope(np.array([0.0, 0.05, 0.1]), np.array([0.0, -3.0, -6.0]), 0.1)
    text = rpp.dumps(env).splitlines()
    assert text[0] == "<VOLENV2"
    assert text[1].startswith("  EGUID {") and text[1].endswith("}")
    assert text[2:] == [
        "  ACT 1 -1",
        "  VIS 1 1 1",
        "  LANEHEIGHT 0 0",
        "  ARM 1",
        "  DEFSHAPE 0 -1 -1",
        "  PT 0 1 0",
        "  PT 0.05 0.7079457844 0",  # -3 dB; the middle point stays: linear amplitude sags
        "  PT 0.1 0.5011872336 0",
        ">",
    ]


def test_simplify_keeps_reapers_curve_within_tolerance() -> None:
    times, gains = show_gains()
    for c in range(gains.shape[1]):
        keep = simplify(times, gains[:, c], 0.1)
        assert keep[0] == 0 and keep[-1] == len(times) - 1
        played = reaper_curve(times, times[keep], gains[keep, c])
        assert np.max(np.abs(played - gains[:, c])) <= 0.1 + 1e-9
        assert len(keep) < len(times) / 4  # a smooth ride needs few points
    flat = simplify(times, np.full(len(times), -6.0), 0.1)
    assert list(flat) == [0, len(times) - 1]


# --- new project -------------------------------------------------------------------------------


def test_new_project_parses_back_into_the_same_levels(tmp_path: Path) -> None:
    times, gains = show_gains()
    names = ["Kick", "Lead vox", "Bass"]
    sources = [tmp_path / f"{i + 1:02d}_{n}.flac" for i, n in enumerate(names)]
    path = tmp_path / "show" / "mix.RPP"
    result = write_automation(path, names, times, gains, sources=sources)
    assert result.added == names and result.backup is None
    project = rpp.loads(path.read_text())
    assert project.tag == "REAPER_PROJECT"
    tracks = tracks_of(project)
    assert list(tracks) == names
    for c, name in enumerate(names):
        track = tracks[name]
        assert ["AUTOMODE", "1"] in track.children
        env = track.find("VOLENV2")
        assert env is not None
        env_t, env_db = envelope_points(env)
        played = reaper_curve(times, env_t, env_db)
        assert np.max(np.abs(played - gains[:, c])) <= 0.1 + 1e-6
        assert all(float(r[2]) <= MAX_AMPLITUDE for r in env if r[0] == "PT")
        source = track.find("ITEM/SOURCE")
        assert source is not None and source.attrib == ["FLAC"]
        assert source.children == [["FILE", str(sources[c])]]
    assert result.points < gains.size / 4


# --- existing project --------------------------------------------------------------------------


def test_existing_project_keeps_everything_else_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "gig.RPP"
    original = FIXTURE.read_bytes()
    path.write_bytes(original)
    times, gains = show_gains(channels=2)
    result = write_automation(path, ["Kick", "Snare"], times, gains)
    assert result.updated == ["Kick"] and result.added == ["Snare"]
    assert result.backup == tmp_path / "gig.RPP.bak"
    assert result.backup.read_bytes() == original

    old = original.decode().splitlines(keepends=True)
    new = path.read_bytes().decode().splitlines(keepends=True)
    kick = old.index('    NAME "Kick"\n')
    auto = old.index("    AUTOMODE 0\n", kick)
    env_a = old.index("    <VOLENV2\n", kick)
    env_b = old.index("    >\n", env_a)
    close = len(old) - 1
    # Up to the envelope: only Kick's AUTOMODE changed, to read.
    assert new[:env_a] == [*old[:auto], "    AUTOMODE 1\n", *old[auto + 1 : env_a]]
    # Kick's old envelope is replaced by ours (same indentation).
    env_end = new.index("    >\n", env_a)
    assert new[env_a] == "    <VOLENV2\n" and "      PT 0 " in "".join(new[env_a:env_end])
    # The rest of the project is untouched; the new track goes in before the final '>'.
    rest = old[env_b + 1 : close]
    assert new[env_end + 1 : env_end + 1 + len(rest)] == rest
    assert new[-1] == old[-1] == ">\n"
    appended = new[env_end + 1 + len(rest) : -1]
    assert appended[0].startswith("  <TRACK {") and appended[-1] == "  >\n"

    tracks = tracks_of(rpp.loads(path.read_text()))
    assert list(tracks) == ["Click", "Kick", "Room mics", "Snare"]
    for c, name in enumerate(["Kick", "Snare"]):
        env = tracks[name].find("VOLENV2")
        assert env is not None
        played = reaper_curve(times, *envelope_points(env))
        assert np.max(np.abs(played - gains[:, c])) <= 0.1 + 1e-6

    # A second write never overwrites the first backup.
    second = write_automation(path, ["Kick", "Snare"], times, gains - 1.0)
    assert second.backup is not None and second.backup != result.backup
    assert second.backup.name.startswith("gig.RPP.") and second.backup.suffix == ".bak"
    assert result.backup.read_bytes() == original
    assert second.updated == ["Kick", "Snare"] and second.added == []


def test_crlf_projects_stay_crlf(tmp_path: Path) -> None:
    path = tmp_path / "win.RPP"
    original = FIXTURE.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(original)
    times, gains = show_gains(seconds=4.0, channels=1)
    write_automation(path, ["Room mics"], times, gains)
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"    AUTOMODE 1\r\n" in data  # was AUTOMODE 2 (touch): now read
    assert data.startswith(original[: original.index(b"  <TRACK")])


def test_unreadable_project_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.RPP"
    path.write_text("<REAPER_PROJECT 0.1\n  <TRACK\n    NAME x\n")  # never closed
    before = path.read_bytes()
    times, gains = show_gains(seconds=1.0, channels=1)
    with pytest.raises(RppError, match=r"broken\.RPP"):
        write_automation(path, ["x"], times, gains)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no backup, no temporary file left


# --- live recording sink -----------------------------------------------------------------------


def test_recorder_is_a_sink_that_writes_at_close(tmp_path: Path) -> None:
    path = tmp_path / "live.RPP"
    rec = RppRecorder(path, ["Kick", "Vox"])
    assert isinstance(rec, GainSink)
    times, gains = show_gains(seconds=3.0, channels=2)
    for t, row in zip(times, gains, strict=True):
        rec.send(row, float(t))
    assert rec.flush() and "60 hops" in rec.status()
    assert not path.exists()
    rec.close()
    rec.close()  # once only
    assert path.exists() and rec.result is not None
    assert rec.status().startswith(f"wrote {rec.result.points} points")
    bad = RppRecorder(tmp_path, ["Kick"])  # a folder: cannot be written
    bad.send(np.array([-3.0]), 0.0)
    bad.close()  # logged, never raised
    assert bad.error is not None and bad.status().startswith("not written")
