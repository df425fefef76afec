"""The `ailive` command line, run as a user would: a real subprocess."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.outputs.automation import read_automation_csv

VERBS = ["devices", "demo", "run", "render", "profiles", "console", "restore"]


def ailive(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_every_verb() -> None:
    res = ailive("--help")
    assert res.returncode == 0
    for verb in VERBS:
        assert verb in res.stdout


@pytest.mark.parametrize("verb", [*VERBS, "profiles list", "profiles check"])
def test_every_verb_has_help(verb: str) -> None:
    res = ailive(*verb.split(), "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: ailive")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["mixdown"], "invalid choice"),
        (["demo", "--seconds", "-3"], "must be > 0"),
        (["demo", "--console-port", "99999"], "port must be 0..65535"),
        (["run"], "--device"),
        (["render", "/no/such/song", "--out", "x.wav"], "no such folder"),
        (["render", "somewhere"], "--out"),
        (["demo", "--gain-source", "magic", "--headless", "--seconds", "1"], "unknown gain source"),
        (["run", "--device", "0", "--channels", "8-1"], "bad channel range"),
        (["profiles", "show", "no-such-profile"], "no such profile"),
    ],
)
def test_bad_arguments_give_one_clear_line_and_exit_2(args: list[str], needle: str) -> None:
    res = ailive(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "error:" in lines[0] and needle in lines[0]


def test_devices_works_without_a_sound_card() -> None:
    res = ailive("devices")
    assert res.returncode == 0, res.stderr
    assert "idx" in res.stdout or "No audio devices" in res.stdout or "PortAudio" in res.stdout


def test_render_writes_mix_and_gains(song_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    res = ailive("render", str(song_dir), "--out", str(out), "--gain-source", "autofader")
    assert res.returncode == 0, res.stderr
    mix, rate = sf.read(out)
    assert rate == 48_000 and mix.ndim == 1
    assert len(mix) == 4 * 48_000  # 4 s song, 80 whole hops
    names, times, gains = read_automation_csv(out.with_suffix(".gains.csv"))
    assert names == ["Ch1", "Ch2", "Ch3", "Ch4"]
    assert len(times) == 80 and gains.shape == (80, 4)
    # The auto-fader brought the quiet channel (-30 dB) up relative to the loud one (-14 dB).
    assert gains[-1, 1] > gains[-1, 3] + 3


def test_render_rejects_a_folder_with_mixed_sample_rates(song_dir: Path, tmp_path: Path) -> None:
    extra = song_dir / "channels" / "05_Odd.flac"
    sf.write(extra, np.zeros(44_100 * 4, dtype=np.float32), 44_100)
    res = ailive("render", str(song_dir), "--out", str(tmp_path / "m.wav"))
    assert res.returncode == 2
    assert "sample rate 44100 Hz differs" in res.stderr


def test_profiles_list_and_check(tmp_path: Path) -> None:
    res = ailive("profiles", "list")
    assert res.returncode == 0
    assert "x32" in res.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('output = "x32"\nport = "ten"\nchannels = "1-8"\n')
    res = ailive("profiles", "check", str(bad))
    assert res.returncode == 2
    assert f"{bad}: port: must be a whole number" in res.stdout


def test_run_with_an_unknown_device_is_a_clear_error() -> None:
    res = ailive("run", "--device", "NoSuchInterface", "--channels", "1-2", "--headless")
    assert res.returncode == 1
    line = res.stderr.strip().splitlines()[-1]
    assert "NoSuchInterface" in line or "PortAudio" in line


def test_demo_runs_the_whole_chain_headless(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = ailive("demo", "--headless", "--fast", "--seconds", "3", "--out", str(out))
    assert res.returncode == 0, res.stderr
    (show,) = out.iterdir()  # the show's own folder
    assert f"show: {show}" in res.stdout
    mix, rate = sf.read(show / "mix.wav")
    assert rate == 48_000 and len(mix) == 3 * 48_000 and np.abs(mix).max() > 0.01
    names, times, gains = read_automation_csv(show / "gains.csv")
    assert np.allclose(times, 0.05 * np.arange(1, 61))
    assert names[0] == "Kick" and len(names) == 8 and gains.shape == (60, 8)
    # The virtual console's faders ended where the last automation row says (1024 steps).
    fader_line = next(line for line in res.stdout.splitlines() if "faders:" in line)
    faders = [float(tok) for tok in fader_line.split()[2::2]]
    assert np.allclose(faders, gains[-1], atol=0.25)
    summary = (show / "summary.json").read_text()
    assert "connected 127.0.0.1" in summary and '"deadline_misses": 0' in summary
    assert '"stopped_by": "end of source"' in summary
    assert (show / "show.RPP").read_text().count("<VOLENV2") == 8
    log_text = (show / "show.log").read_text()
    assert "mixing 8 channels" in log_text
    # At t = 2 s the intro (keys, organ) plays: the bleed-only kick is held and marked quiet.
    line = next(ln for ln in log_text.splitlines() if "t=  2.00s" in ln)
    assert re.search(r"Kick\s+[-+]\d+\.\dq", line) and "(q: only bleed, held)" in line
    assert re.search(r"Keys\s+[-+]\d+\.\d ", line)
    # A second show never reuses the folder.
    res = ailive("demo", "--headless", "--fast", "--seconds", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert len(list(out.iterdir())) == 2


def test_render_twice_gives_byte_identical_files(song_dir: Path, tmp_path: Path) -> None:
    """Offline render has no deadline: the shipped model's every prediction is used, every time."""
    outs = []
    for k in range(2):
        out = tmp_path / f"mix{k}.wav"
        res = ailive("render", str(song_dir), "--out", str(out), "--gain-source", "alm-mr")
        assert res.returncode == 0, res.stderr
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    gains = [out.with_suffix(".gains.csv").read_bytes() for out in outs]
    assert gains[0] == gains[1] and len(gains[0].splitlines()) == 81


def test_restore_glides_the_console_back_to_the_snapshot(tmp_path: Path) -> None:
    from bridge.outputs.x32.law import db_to_fader, fader_to_db, quantize
    from bridge.restore import Snapshot, read_snapshot, write_snapshot
    from bridge.virtual_console import VirtualConsole

    soundcheck = [-10.0, -5.0, -20.0, -3.0, -12.0, float("-inf"), 0.0, -25.0]
    with VirtualConsole(channels=8, faders_db=[2.4] * 8) as console:  # where the model left them
        host, port = console.address
        names = [f"ch{i}" for i in range(8)]
        write_snapshot(
            tmp_path, Snapshot("virtual-x32", host, port, list(range(8)), names, soundcheck)
        )
        assert read_snapshot(tmp_path).levels_db == soundcheck
        res = ailive("restore", str(tmp_path), timeout=120)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("restored")
        assert [console.fader(ch) for ch in range(1, 9)] == [
            quantize(db_to_fader(db)) for db in soundcheck
        ]
        for ch in range(1, 9):
            levels = [fader_to_db(quantize(db_to_fader(2.4)))]
            levels += [fader_to_db(s.value) for s in console.history if s.channel == ch]
            steps = [abs(max(b, -90.0) - max(a, -90.0)) for a, b in itertools.pairwise(levels)]
            assert max(steps) <= 1.2 + 0.47, (ch, max(steps))  # one slew step a hop, ever


def test_restore_and_console_bad_input_is_one_line(tmp_path: Path) -> None:
    res = ailive("restore", str(tmp_path))
    assert res.returncode == 2
    assert "snapshot.json" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = ailive("demo", "--faders", "-10,loud", "--headless", "--seconds", "1")
    assert res.returncode == 2
    assert "--faders" in res.stderr and len(res.stderr.strip().splitlines()) == 1
