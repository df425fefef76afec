"""Seeded splits and the `ailive data` command line, run as a user would (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.data.dataset import SPLITS, plan_dataset, song_seed, split_counts
from models.data.styles import STYLES
from models.song import load_song
from tests.data.conftest import needs_render


def ailive(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_splits_are_defined_by_the_seed() -> None:
    a = plan_dataset(50, seed=3)
    assert a == plan_dataset(50, seed=3)
    assert [j.split for j in a] != [j.split for j in plan_dataset(50, seed=4)]
    assert [sum(j.split == s for j in a) for s in SPLITS] == [40, 5, 5]
    assert len({j.seed for j in a}) == 50
    assert a[7].seed == song_seed(3, 7)
    assert {j.style for j in a} == set(STYLES), "styles cycle through the list"
    assert len({j.folder for j in a}) == 50


def test_split_counts_add_up() -> None:
    assert split_counts(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert split_counts(3, (1, 1, 1)) == [1, 1, 1]
    assert sum(split_counts(7, (0.7, 0.2, 0.1))) == 7
    with pytest.raises(ValueError, match="fractions"):
        split_counts(5, (0.5, 0.5))


def test_data_verbs_have_help() -> None:
    for verb in (["data"], ["data", "synth"], ["data", "info"], ["data", "import"]):
        res = ailive(*verb, "--help")
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("usage: ailive data")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "synth", "--songs", "0", "--out", "x"], "must be >= 1"),
        (["data", "synth", "--songs", "2", "--out", "x", "--seconds", "1"], "4..600"),
        (["data", "synth", "--songs", "2"], "--out"),
        (["data", "synth", "--songs", "2", "--out", "x", "--styles", "polka"], "unknown style"),
        (["data", "info", "/no/such/dir"], "no such folder"),
    ],
)
def test_bad_arguments_give_one_clear_line(args: list[str], needle: str) -> None:
    res = ailive(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.stderr


def test_missing_soundfont_is_a_clear_runtime_error(tmp_path: Path) -> None:
    res = ailive("data", "synth", "--songs", "1", "--out", str(tmp_path / "d"),
                 "--soundfont", str(tmp_path / "missing.sf2"))  # fmt: skip
    assert res.returncode == 1
    assert "soundfont not found" in res.stderr and "missing.sf2" in res.stderr


@needs_render
def test_synth_two_songs_then_info(tmp_path: Path, soundfont: Path) -> None:
    out = tmp_path / "set"
    args = ["data", "synth", "--songs", "2", "--seconds", "5", "--out", str(out), "--seed", "3",
            "--workers", "1", "--soundfont", str(soundfont), "--splits", "1,1,0"]  # fmt: skip
    res = ailive(*args)
    assert res.returncode == 0, res.stderr
    assert "2/2 songs" in res.stderr and "made 2 songs" in res.stdout
    desc = json.loads((out / "dataset.json").read_text())
    assert desc["seed"] == 3 and desc["songs"] == 2 and desc["splits"]["train"] == 1
    for entry in desc["index"]:
        song = load_song(out / entry["folder"])
        assert song.audio.shape[1] == 5 * 48_000
        assert song.meta.seed == entry["seed"]
        assert (out / entry["folder"] / "sources").is_dir()
        assert (out / entry["folder"] / "gains.npz").is_file()
    again = ailive(*args)
    assert again.returncode == 0
    assert json.loads((out / "dataset.json").read_text())["made_now"] == 0, "kept, not redone"
    info = ailive("data", "info", str(out))
    assert info.returncode == 0, info.stderr
    assert "2 songs" in info.stdout and "train 1" in info.stdout and "validation 1" in info.stdout
    summary = json.loads(ailive("data", "info", str(out), "--json").stdout)
    assert summary["songs"] == 2
    assert summary["oracle_snr_db_mean"] > summary["raw_snr_db_mean"]
    one = ailive("data", "info", str(out / desc["index"][0]["folder"]))
    assert one.returncode == 0 and "1 songs" in one.stdout


@needs_render
def test_parallel_workers_make_the_same_songs(tmp_path: Path, soundfont: Path) -> None:
    from models.data.dataset import generate
    from models.data.synth import SynthConfig

    jobs = plan_dataset(2, seed=5, styles=["reggae", "blues"], fractions=(1, 0, 0))
    cfg = SynthConfig(seconds=4.0, soundfont=soundfont)
    serial = generate(tmp_path / "a", jobs[:1], cfg, workers=1)
    parallel = generate(tmp_path / "b", jobs, cfg, workers=2)
    assert parallel["made_now"] == 2 and not parallel["failed"]
    a = load_song(tmp_path / "a" / jobs[0].folder)
    b = load_song(tmp_path / "b" / jobs[0].folder)
    assert serial["made_now"] == 1
    np.testing.assert_array_equal(a.audio, b.audio)


def test_import_a_folder_of_channels(tmp_path: Path) -> None:
    import soundfile as sf

    src = tmp_path / "take"
    src.mkdir()
    rng = np.random.default_rng(0)
    ch = rng.standard_normal((2, 48_000)).astype(np.float32) * 0.1
    sf.write(src / "01_Bass.wav", ch[0], 48_000)
    sf.write(src / "02_Vox.wav", ch[1], 48_000)
    sf.write(src / "Mix.wav", 0.5 * ch[0] + ch[1], 48_000)
    res = ailive("data", "import", str(src), "--out", str(tmp_path / "song"))
    assert res.returncode == 0, res.stderr
    assert "2 channels" in res.stdout
    assert load_song(tmp_path / "song").names == ["Bass", "Vox"]
    bad = ailive(
        "data", "import", str(tmp_path / "song" / "channels"), "--out", str(tmp_path / "x")
    )
    assert bad.returncode == 2 and "reference mix" in bad.stderr
