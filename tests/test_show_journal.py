"""The show journal, as a user meets it: real `ailive` processes killed mid-show, signals,
Ctrl-C on `run` (real capture from a dummy JACK server), `ailive recover`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.jackserver import JackUnavailable, dummy_jack, jack_available
from bridge.journal import ShowJournal, new_show_dir, read_events
from bridge.recover import read_gains
from tests.test_cli import ailive

WAIT_S = 120.0
"""Generous limit for conditions on a busy machine (never a sleep the test relies on)."""


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def gain_rows(folder: Path) -> int:
    path = folder / "gains.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.is_file() else 0


def wait_for_rows(out: Path, rows: int, proc: subprocess.Popen[str]) -> Path:
    """The show's folder once its journal holds `rows` gain rows (the show still running)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        folders = list(out.iterdir()) if out.is_dir() else []
        if folders and gain_rows(folders[0]) >= rows:
            return folders[0]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the journal never reached {rows} rows")


def test_sigkill_mid_show_leaves_readable_files_and_recover_finishes_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start("demo", "--headless", "--gain-source", "autofader", "--out", str(out))
    folder = wait_for_rows(out, 40, proc)  # 2 s of a real-time show, written while it runs
    proc.kill()
    proc.wait(WAIT_S)
    assert not (folder / "summary.json").exists()
    names, times, gains = read_gains(folder / "gains.csv")
    assert names[0] == "Kick" and gains.shape[1] == 8 and len(times) >= 40
    assert np.allclose(np.diff(times), 0.05)
    mix, rate = sf.read(folder / "mix.wav")
    assert rate == 48_000
    # The mix and the gains were flushed together: the same hops, to one hop.
    assert abs(len(mix) / 2400 - len(times)) <= 1
    events = read_events(folder)
    assert events[0]["event"] == "start" and events[0]["channels"][0] == "Kick"
    assert "mixing 8 channels" in (folder / "show.log").read_text()

    res = ailive("recover", str(folder))
    assert res.returncode == 0, res.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped_by"] == "crashed (recovered from the journal)"
    assert summary["hops"] == len(times) and summary["recovered"] is True
    assert (folder / "show.RPP").read_text().count("<VOLENV2") == 8
    assert "nothing to recover" in ailive("recover", str(folder)).stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_show_as_interrupted_and_keeps_everything(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    proc = start("demo", "--headless", "--gain-source", "autofader", "--out", str(out))
    folder = wait_for_rows(out, 10, proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stopped_by"] == "interrupted"
    _, times, _ = read_gains(folder / "gains.csv")
    assert summary["hops"] == len(times) >= 10
    assert read_events(folder)[-1]["event"] == "stop"
    assert (folder / "show.RPP").is_file()


@pytest.mark.skipif(jack_available() is not None, reason=str(jack_available()))
def test_ctrl_c_ends_run_at_once_not_when_seconds_run_out(tmp_path: Path) -> None:
    """`run --seconds 600` used to wait for its timer after Ctrl-C (25 s in the report)."""
    out = tmp_path / "out"
    try:
        with dummy_jack(ports=2) as server:
            env = {**os.environ, "JACK_DEFAULT_SERVER": server, "JACK_NO_START_SERVER": "1"}
            proc = start(
                "run", "--device", "JACK", "--channels", "1-2", "--no-console", "--headless",
                "--gain-source", "raw", "--seconds", "600", "--out", str(out), env=env,
            )  # fmt: skip
            folder = wait_for_rows(out, 10, proc)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=WAIT_S)
            took = time.monotonic() - t0
    except JackUnavailable as exc:
        pytest.fail(str(exc))
    assert proc.returncode == 130, stderr
    # Far below the 600 s the timer would have held it (generous for a busy machine; the
    # benchmark measures the real figure).
    assert took < 30, took
    assert json.loads((folder / "summary.json").read_text())["stopped_by"] == "interrupted"


def test_out_naming_a_file_is_one_line_before_the_show_starts(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    res = ailive("demo", "--headless", "--fast", "--seconds", "1", "--out", str(target))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a file" in lines[0], res.stderr
    assert target.read_text() == "not a folder"
    assert "show:" not in res.stdout


def test_each_show_gets_a_new_folder_even_in_the_same_second(tmp_path: Path) -> None:
    from datetime import datetime

    now = datetime(2026, 12, 1, 20, 0, 0)
    first, second = new_show_dir(tmp_path, now), new_show_dir(tmp_path, now)
    assert first != second and first.name == "2026-12-01_20-00-00"
    assert second.name == "2026-12-01_20-00-00-2"


def test_the_journal_is_on_disk_while_the_show_runs(tmp_path: Path) -> None:
    journal = ShowJournal(tmp_path, ["a", "b"], 48_000, flush_s=0.05)
    try:
        for k in range(5):
            journal.add(np.full(2400, 0.1, dtype=np.float32))
            journal.send(np.array([-1.0, float(k)]), 0.05 * (k + 1))
        journal.event("fault", reason="test")
        deadline = time.monotonic() + WAIT_S
        while gain_rows(tmp_path) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Read back before close, as after a crash: every file is complete to the last flush.
        assert sf.info(str(tmp_path / "mix.wav")).frames == 5 * 2400
        _, times, gains = read_gains(tmp_path / "gains.csv")
        assert np.allclose(gains[:, 1], np.arange(5)) and len(times) == 5
        assert read_events(tmp_path)[-1]["reason"] == "test"
    finally:
        journal.close()


def test_a_row_cut_short_by_a_crash_is_dropped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "gains.csv").write_text("time_s,a,b\n0.050,-1.00,0.00\n0.100,-1.0")
    names, times, gains = read_gains(tmp_path / "gains.csv")
    assert names == ["a", "b"] and len(times) == 1 and gains.tolist() == [[-1.0, 0.0]]


def test_recover_refuses_a_folder_that_is_not_a_show(tmp_path: Path) -> None:
    res = ailive("recover", str(tmp_path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "not a show folder" in res.stderr
    res = ailive("recover", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "no such folder" in res.stderr


def test_recover_of_a_show_killed_before_its_first_hop(tmp_path: Path) -> None:
    journal = ShowJournal(tmp_path, ["a"], 48_000)
    journal.event("start", title="t", channels=["a"], hop_s=0.05)
    journal.close()
    res = ailive("recover", str(tmp_path))
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["hops"] == 0 and "no automation" in summary["rpp_error"]


def test_sigterm_stops_a_show_in_the_tui_too(tmp_path: Path) -> None:
    """The TUI owns the terminal (a real pty): the signal still ends the show as interrupted."""
    import pty
    import select

    out = tmp_path / "out"
    pid, fd = pty.fork()
    if pid == 0:  # the child: the TUI demo in the pseudo-terminal
        args = ["demo", "--gain-source", "autofader", "--out", str(out)]
        os.execv(sys.executable, [sys.executable, "-m", "bridge", *args])
    screen = b""
    sent = False
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal: it exited
                break
            if not data:
                break
            screen += data
        folders = list(out.iterdir()) if out.is_dir() else []
        if not sent and folders and gain_rows(folders[0]) >= 10:
            os.kill(pid, signal.SIGTERM)
            sent = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert sent and os.waitstatus_to_exitcode(status) == 130
    assert b"Traceback" not in screen
    (folder,) = out.iterdir()
    assert json.loads((folder / "summary.json").read_text())["stopped_by"] == "interrupted"
