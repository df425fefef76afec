"""Song folders on disk: our format round trip, images, MedleyDB layout, folders of WAVs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.data.loaders import ImportOptions, load_any, load_folder, load_medleydb, role_of
from models.data.store import read_song_data, write_song_data
from models.song import SongError, load_song
from tests.data.conftest import assert_target_level, needs_render, needs_room, noise_sources

MEDLEY_RATE = 44_100


@needs_render
def test_generated_song_round_trips_and_loads_as_a_song(synth: tuple, song_folder: Path) -> None:
    data, _ = synth
    back = read_song_data(song_folder)
    np.testing.assert_allclose(back.song.audio, data.song.audio, atol=1e-6)
    np.testing.assert_allclose(back.song.target_mix, data.song.target_mix, atol=1e-6)
    np.testing.assert_allclose(back.sources, data.sources, atol=1e-6)
    np.testing.assert_array_equal(back.target_gains_db, data.target_gains_db)
    np.testing.assert_array_equal(back.oracle_gains_db, data.oracle_gains_db)
    np.testing.assert_array_equal(back.rirs, data.rirs)
    plain = load_song(song_folder)
    assert plain.names == data.song.names
    meta = plain.meta
    assert {c.role for c in meta.channels} >= {"kick", "snare", "bass", "lead"}
    assert all(s["licence"].startswith("GPL-2.0") for s in meta.sources)
    stage = meta.extra["stage"]
    assert stage["bleed_in_range"] and len(stage["post_trims_db"]) == len(plain.names)
    assert meta.extra["style"] == "rock" and meta.seed == 11


@needs_render
def test_images_recomputed_from_the_folder_match_channels_and_stored_images(
    song_folder: Path,
) -> None:
    data = read_song_data(song_folder)
    stored = data.stored_images
    assert stored is not None
    data.stored_images = None
    images = data.images()
    np.testing.assert_allclose(stored, images, atol=1e-6)
    residual = data.song.audio - images.sum(axis=1)
    noise = data.song.meta.extra["stage"]["noise_dbfs"]
    for m, level in enumerate(noise):
        got = 20 * np.log10(np.sqrt(np.mean(residual[m].astype(np.float64) ** 2)))
        assert got < max(level, -96.0) + 3.0, "channel = sum of images + noise"


def test_corrupt_files_give_clear_errors(tmp_path: Path) -> None:
    from models.song import ChannelInfo, Song, SongMeta, save_song

    song = Song(SongMeta(48_000, [ChannelInfo("A")]), np.zeros((1, 4800), np.float32))
    folder = save_song(song, tmp_path / "s")
    (folder / "sources").mkdir()
    (folder / "sources" / "01_A.flac").write_bytes(b"not audio")
    with pytest.raises(SongError, match=re.escape("01_A.flac")):
        read_song_data(folder)
    (folder / "sources" / "01_A.flac").unlink()
    (folder / "sources").rmdir()
    (folder / "gains.npz").write_bytes(b"broken")
    with pytest.raises(SongError, match=re.escape("gains.npz")):
        read_song_data(folder)


def _write_medleydb(root: Path, name: str = "Band_Song") -> Path:
    folder = root / name
    raw_dir = folder / f"{name}_RAW"
    (folder / f"{name}_STEMS").mkdir(parents=True)
    raw_dir.mkdir()
    src = noise_sources(4, 3.0, seed=9)
    n = int(3.0 * MEDLEY_RATE)
    tracks = [
        np.interp(np.arange(n) * 48_000 / MEDLEY_RATE, np.arange(src.shape[1]), x) for x in src
    ]
    labels = ["kick drum", "electric bass", "clean electric guitar", "female singer"]
    stems = {}
    for i, (label, x) in enumerate(zip(labels, tracks, strict=True), start=1):
        fname = f"{name}_RAW_{i:02d}_01.wav"
        data = np.stack([x, x], axis=1) if i == 3 else x  # one stereo RAW file
        sf.write(raw_dir / fname, data, MEDLEY_RATE)
        sf.write(folder / f"{name}_STEMS" / f"{name}_STEM_{i:02d}.wav", x, MEDLEY_RATE)
        stems[f"S{i:02d}"] = {
            "component": "",
            "filename": f"{name}_STEM_{i:02d}.wav",
            "instrument": label,
            "raw": {"R01": {"filename": fname, "instrument": label}},
        }
    mix = sum(g * x for g, x in zip((0.5, 0.8, 0.3, 1.0), tracks, strict=True))
    sf.write(folder / f"{name}_MIX.wav", np.stack([mix, 0.9 * mix], axis=1), MEDLEY_RATE)
    import yaml

    meta = {
        "artist": "Band", "title": "Song", "genre": "Rock", "has_bleed": "no",
        "mix_filename": f"{name}_MIX.wav", "raw_dir": f"{name}_RAW", "stem_dir": f"{name}_STEMS",
        "stems": stems, "version": 1.2,
    }  # fmt: skip
    (folder / f"{name}_METADATA.yaml").write_text(yaml.safe_dump(meta))
    return folder


@needs_room
def test_medleydb_layout_with_simulated_bleed(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    folder = _write_medleydb(tmp_path)
    data = load_medleydb(folder, ImportOptions(seed=2))
    song = data.song
    assert song.sample_rate == 48_000
    assert song.audio.shape == (4, pytest.approx(3 * 48_000, abs=2))
    assert [c.role for c in song.meta.channels] == ["kick", "bass", "rhythm", "lead"]
    assert song.meta.extra["corpus"] == "MedleyDB"
    bleed = np.array(song.meta.bleed_matrix_db)
    miked = [m for m, d in enumerate(song.meta.extra["stage"]["di"]) if not d]
    assert miked and all(np.delete(bleed[m], m).max() > -120 for m in miked)
    assert song.target_mix is not None
    assert_target_level(song.audio, song.target_mix)
    assert data.target_gains_db is not None and data.target_gains_db.shape[1] == 4
    # The MIX is made of the RAW tracks: estimated gains keep its balance (bass over guitar).
    mid = data.target_gains_db[10:50].mean(axis=0)
    src_db = [20 * np.log10(np.sqrt(np.mean(x**2))) for x in data.sources]
    assert mid[1] + src_db[1] > mid[2] + src_db[2] + 6.0
    out = write_song_data(data, tmp_path / "out")
    assert load_any(out).song.names == song.names
    assert load_any(folder).song.meta.extra["corpus"] == "MedleyDB"


def test_medleydb_errors_name_the_problem(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    folder = _write_medleydb(tmp_path)
    (folder / "Band_Song_RAW" / "Band_Song_RAW_02_01.wav").unlink()
    with pytest.raises(SongError, match=re.escape("Band_Song_RAW_02_01.wav")):
        load_medleydb(folder)
    (folder / "Band_Song_METADATA.yaml").write_text("stems: [unclosed")
    with pytest.raises(SongError, match=re.escape("METADATA.yaml")):
        load_medleydb(folder)
    with pytest.raises(SongError, match="MedleyDB"):
        load_medleydb(tmp_path)


def _write_folder(root: Path) -> tuple[Path, np.ndarray]:
    root.mkdir()
    ch = noise_sources(3, 2.0, seed=5)
    ch[1] += 0.2 * ch[0]  # real bleed
    for i, name in enumerate(["01_Kick", "02_Vox", "03_Gtr"]):
        sf.write(root / f"{name}.wav", ch[i], 48_000, subtype="FLOAT")
    mix = 0.5 * ch[0] + 1.2 * ch[1] + 0.25 * ch[2]
    sf.write(root / "mix.wav", mix, 48_000, subtype="FLOAT")
    return root, ch


def test_folder_of_channels_with_a_reference_mix(tmp_path: Path) -> None:
    folder, ch = _write_folder(tmp_path / "take")
    data = load_folder(folder)
    assert data.song.names == ["Kick", "Vox", "Gtr"]
    assert [c.role for c in data.song.meta.channels] == ["kick", "lead", "rhythm"]
    np.testing.assert_allclose(data.song.audio, ch, atol=1e-4)
    report = data.song.meta.extra["oracle"]["snr_db"]
    assert report["static"] > 60.0, "fixed gains made this mix: the static oracle finds them"
    static = 10 ** (data.oracle_static_db / 20)
    assert static / static[0] == pytest.approx([1.0, 2.4, 0.5], rel=1e-3)


def test_folder_loader_errors(tmp_path: Path) -> None:
    folder, _ = _write_folder(tmp_path / "take")
    sf.write(folder / "reference.wav", np.zeros(480), 48_000)
    with pytest.raises(SongError, match="expected one reference mix"):
        load_folder(folder)
    assert load_folder(folder, mix="mix.wav").song.audio.shape[0] == 4
    with pytest.raises(SongError, match="does not exist"):
        load_folder(folder, mix="nope.wav")
    with pytest.raises(SongError, match="no such folder"):
        load_folder(tmp_path / "missing")


def test_roles_from_labels_and_file_names() -> None:
    assert role_of("kick drum") == "kick"
    assert role_of("03_SnareTop") == "snare"
    assert role_of("distorted electric guitar") == "rhythm"
    assert role_of("male singer") == "lead"
    assert role_of("tenor saxophone") == "solo"
    assert role_of("OH_L") == "drums"
    assert role_of("double bass") == "bass"
    assert role_of("theremin") == "other"
