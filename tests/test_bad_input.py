"""Every bad input of the robustness report (issue 13, list 7) is one clear line and exit 2,
run as a user would: a real `ailive` process, or the CLI entry in this process where the
shipped checkpoints must be swapped for damaged copies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge import cli
from bridge.config import MAPPINGS_DIR
from models import gainsource
from models.song import save_song
from tests.conftest import tone_song

GOOD = 'output = "x32"\nchannels = "1-8"\n'


def ailive(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)} if home is not None else None
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def one_line_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "error:" in lines[0] and needle in lines[0], lines[0]


def user_dir(home: Path) -> Path:
    d = home / ".config" / "ailive" / "mappings"
    d.mkdir(parents=True)
    return d


BAD_PROFILES = {
    "latin-1": (b'name = "caf\xe9"\n' + GOOD.encode(), "not UTF-8 text (byte 0xe9"),
    "nested-5000": (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper than 8 levels"),
    "nested-20": (b"a = " + b"[" * 20 + b"]" * 20 + b"\n", "nested deeper than 8 levels"),
    "2-MiB": (b"# " + b"x" * (2 << 20) + b"\n", "larger than 1024 KiB"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_a_bad_profile_file_is_one_line(tmp_path: Path, case: str) -> None:
    content, needle = BAD_PROFILES[case]
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    one_line_error(ailive("profiles", "show", str(path)), needle)
    one_line_error(ailive("run", "--device", "0", "--profile", str(path)), needle)


def test_a_fifo_named_like_a_profile_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "x.toml"
    os.mkfifo(fifo)
    one_line_error(ailive("profiles", "show", str(fifo)), "not a regular file")
    one_line_error(ailive("run", "--device", "0", "--profile", str(fifo)), "not a regular file")
    home = tmp_path / "home"
    os.mkfifo(user_dir(home) / "y.toml")
    res = ailive("profiles", "list", home=home)
    assert res.returncode == 0 and "y.toml: file: not a regular file" in res.stdout


def test_unreadable_profiles_never_hide_the_good_ones(tmp_path: Path) -> None:
    home = tmp_path / "home"
    mine = user_dir(home)
    (mine / "broken.toml").write_bytes(b"\xff\xfe")
    (mine / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000)
    (mine / "band.toml").write_text(GOOD)
    res = ailive("profiles", "list", home=home)
    assert res.returncode == 0, res.stderr
    assert "broken.toml: file: not UTF-8" in res.stdout and "deep.toml: file: nested" in res.stdout
    assert "band" in res.stdout and "x32" in res.stdout and "reaper-8" in res.stdout
    res = ailive("profiles", "show", "band", home=home)
    assert res.returncode == 0 and str(mine / "band.toml") in res.stdout
    res = ailive("profiles", "show", "x32", home=home)
    assert res.returncode == 0 and str(MAPPINGS_DIR / "x32.toml") in res.stdout
    # `run` finds its profile past the broken ones (and then fails on the device, exit 1).
    res = ailive("run", "--device", "NoSuchInterface", "--profile", "band", home=home)
    assert res.returncode == 1 and "NoSuchInterface" in res.stderr, res.stderr
    # Asking for the broken one by name names its problem.
    one_line_error(ailive("profiles", "show", "broken", home=home), "not UTF-8")


def test_a_user_profile_shadows_the_shipped_one_with_a_note(tmp_path: Path) -> None:
    home = tmp_path / "home"
    mine = user_dir(home) / "x32.toml"
    mine.write_text('description = "my desk"\n' + GOOD)
    res = ailive("profiles", "list", home=home)
    assert res.returncode == 0
    lines = [line for line in res.stdout.splitlines() if line.startswith("x32 ")]
    assert len(lines) == 2, res.stdout
    assert any(f"hidden: {mine} has the same name" in line for line in lines)
    assert any(f"yours: used instead of {MAPPINGS_DIR / 'x32.toml'}" in line for line in lines)
    res = ailive("profiles", "show", "x32", home=home)
    assert res.returncode == 0 and str(mine) in res.stdout and "my desk" in res.stdout


def test_a_44k1_song_without_song_json_is_one_line(tmp_path: Path) -> None:
    song = tmp_path / "song" / "channels"
    song.mkdir(parents=True)
    for i in range(2):
        sf.write(song / f"0{i + 1}_ch.flac", np.zeros(44_100, dtype=np.float32), 44_100)
    one_line_error(
        ailive("render", str(song.parent), "--out", str(tmp_path / "m.wav")),
        "at 44100 Hz; AiLive mixes at 48000 Hz",
    )
    one_line_error(
        ailive("demo", "--song", str(song.parent), "--headless", "--out", str(tmp_path / "o")),
        "at 44100 Hz",
    )
    assert not (tmp_path / "o").exists()


def test_a_garbage_target_mix_is_one_line(song_dir: Path, tmp_path: Path) -> None:
    (song_dir / "target_mix.flac").write_bytes(b"fLaC" + os.urandom(3000))
    one_line_error(
        ailive("render", str(song_dir), "--out", str(tmp_path / "m.wav")),
        "target_mix.flac: cannot decode the target mix",
    )


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999"])
def test_seconds_must_be_finite(value: str) -> None:
    res = ailive("demo", "--headless", "--seconds", value)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "--seconds" in res.stderr


@pytest.fixture
def checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped checkpoints that the gain-source registry reads instead."""
    folder = tmp_path / "checkpoints"
    shutil.copytree(gainsource.CHECKPOINT_DIR, folder)
    monkeypatch.setattr(gainsource, "CHECKPOINT_DIR", folder)
    return folder


def render_alm_mr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    song = save_song(tone_song([-20.0, -26.0], seconds=1.0), tmp_path / "song")
    rc = cli.main(
        ["render", str(song), "--out", str(tmp_path / "m.wav"), "--gain-source", "alm-mr"]
    )
    return rc, capsys.readouterr().err


def test_alm_mr_asked_for_with_its_weights_missing(
    checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (checkpoints / "alm-mr.pt").unlink()
    rc, err = render_alm_mr(tmp_path, capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "alm-mr.pt not found" in err


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"heads": 3}, "config.d_model (128) must be a multiple of config.heads (3)"),
        ({"d_model": -5}, "config.d_model must be a whole number 1..1024, got -5"),
        ({"d_model": 200000}, "config.d_model must be a whole number 1..1024, got 200000"),
        (None, "sha256 of the weights missing or malformed (required)"),
    ],
)
def test_a_damaged_sidecar_is_one_line_before_any_network_is_built(
    checkpoints: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: dict[str, int] | None,
    needle: str,
) -> None:
    sidecar = checkpoints / "alm-mr.json"
    meta = json.loads(sidecar.read_text())
    if edit is None:
        del meta["sha256"]
    else:
        meta["config"].update(edit)
    sidecar.write_text(json.dumps(meta))
    rc, err = render_alm_mr(tmp_path, capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{sidecar}: {needle}" in err
