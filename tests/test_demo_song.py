"""The bundled demo song (models/demo/song): loadable, sane levels, stage bleed, a target mix."""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import models.demo
from models.song import Song, load_song

SONG_DIR = Path(models.demo.__file__).parent / "song"
MIKED = ["Kick", "Snare", "Overhead/hats", "Guitar", "Lead", "Organ"]
DI = ["Bass", "Keys"]


@pytest.fixture(scope="module")
def song() -> Song:
    return load_song(SONG_DIR)


def test_shape_rate_and_length(song: Song) -> None:
    assert song.audio.shape[0] == 8
    assert song.sample_rate == 48_000
    assert 20.0 <= song.seconds <= 30.0
    assert song.audio.dtype == np.float32
    assert sorted(song.names) == sorted(MIKED + DI)


def test_audio_is_finite_unclipped_and_non_silent(song: Song) -> None:
    assert np.all(np.isfinite(song.audio))
    peaks = np.max(np.abs(song.audio), axis=1)
    assert np.all(peaks < 1.0)
    assert peaks.max() > 10 ** (-6 / 20), "the loudest channel should peak near -3 dBFS"
    rms_db = 20 * np.log10(np.sqrt(np.mean(song.audio.astype(np.float64) ** 2, axis=1)))
    for name, level in zip(song.names, rms_db, strict=True):
        assert level > -50.0, f"{name} is (nearly) silent: {level:.1f} dBFS RMS"


def test_roles_and_channel_info(song: Song) -> None:
    roles = {c.name: c.role for c in song.meta.channels}
    assert roles["Kick"] == "kick"
    assert roles["Snare"] == "snare"
    assert roles["Lead"] == "lead"
    assert roles["Bass"] == "bass"
    assert {"rhythm", "keys", "pad", "drums"} <= set(roles.values())


def test_bleed_matrix(song: Song) -> None:
    bleed = song.meta.bleed_matrix_db
    assert bleed is not None
    matrix = np.array(bleed)
    assert matrix.shape == (8, 8)
    assert np.allclose(np.diag(matrix), 0.0)
    index = {name: i for i, name in enumerate(song.names)}
    for mic in MIKED:
        for src in MIKED:
            if mic != src:
                level = matrix[index[mic], index[src]]
                assert -40.0 <= level <= -3.0, f"{src} in the {mic} mic: {level} dB"
    for di in DI:
        row = np.delete(matrix[index[di]], index[di])
        assert np.all(row <= -100.0), f"DI channel {di} must have no bleed: {row}"
    assert sorted(song.meta.extra["di_channels"]) == sorted(DI)


def test_target_mix(song: Song) -> None:
    mix = song.target_mix
    assert mix is not None
    assert mix.shape == (song.audio.shape[1],)
    assert np.all(np.isfinite(mix))
    assert 0.1 < np.max(np.abs(mix)) < 1.0


def test_metadata(song: Song) -> None:
    meta = song.meta
    assert meta.seed is not None
    extra = meta.extra
    assert extra["title"]
    assert 100.0 <= extra["tempo_bpm"] <= 120.0
    sections = extra["sections"]
    assert [s["name"] for s in sections] == ["intro", "verse", "chorus", "break", "outro"]
    assert sections[0]["start_s"] == 0.0
    assert sections[-1]["end_s"] == pytest.approx(song.seconds, abs=0.01)
    for a, b in itertools.pairwise(sections):
        assert a["end_s"] == pytest.approx(b["start_s"])
    assert set(extra["trims_db"]) == set(song.names)
    assert all(abs(v) <= 6.0 for v in extra["trims_db"].values())
    assert extra["target_levels_db"]["Lead"] == 0.0
    assert len(meta.sources) == 8
    assert all(s["licence"] for s in meta.sources)


def test_lead_enters_in_the_verse(song: Song) -> None:
    sr = song.sample_rate
    lead = song.audio[song.names.index("Lead")].astype(np.float64)
    sections = {s["name"]: s for s in song.meta.extra["sections"]}

    def rms(name: str) -> float:
        s = sections[name]
        return float(np.sqrt(np.mean(lead[int(s["start_s"] * sr) : int(s["end_s"] * sr)] ** 2)))

    assert rms("verse") > 10 * rms("intro")
    assert rms("chorus") > rms("verse")


def _can_render() -> bool:
    if shutil.which("fluidsynth") is None:
        return False
    if any(importlib.util.find_spec(m) is None for m in ("pretty_midi", "pyroomacoustics")):
        return False
    from models.demo.make_song import find_soundfont

    try:
        find_soundfont()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _can_render(), reason="needs fluidsynth, FluidR3_GM and the data extras")
def test_generator_is_deterministic(tmp_path: Path) -> None:
    from models.demo.make_song import main

    for name in ("a", "b"):
        assert main(["--out", str(tmp_path / name), "--seconds", "12", "--seed", "3"]) == 0
    first = json.loads((tmp_path / "a" / "song.json").read_text())
    assert first == json.loads((tmp_path / "b" / "song.json").read_text())
    short = load_song(tmp_path / "a")
    assert short.audio.shape == (8, 12 * 48_000)
    assert np.max(np.abs(short.audio)) < 1.0
    # The shipped song's arrangement follows from its seed alone.
    shipped = json.loads((SONG_DIR / "song.json").read_text())
    seconds = str(shipped["sections"][-1]["end_s"])
    args = ["--out", str(tmp_path / "c"), "--seed", str(shipped["seed"]), "--seconds", seconds]
    assert main(args) == 0
    again = json.loads((tmp_path / "c" / "song.json").read_text())
    for key in ("tempo_bpm", "key", "progression", "sections", "trims_db", "target_levels_db"):
        assert again[key] == shipped[key], key
