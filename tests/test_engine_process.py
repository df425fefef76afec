"""The engine in its own process (bridge.engine_process): a real spawned child running a real
short show (a song folder through the auto-fader in real time), the TUI app in this process over
the proxy. Every wait is on a condition with a generous limit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import cast

import pytest

from bridge import engine_process
from bridge.engine_process import RemoteShow
from bridge.show import Show
from bridge.tui import make_app
from models.song import save_song
from tests.paced import moving_song, until, wait_for

LIMIT_S = 120.0
"""Spawning a child imports numpy and the models: generous on a busy machine."""


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return save_song(moving_song(4, 30.0), tmp_path / "song")


def start(song: Path, **spec: object) -> RemoteShow:
    return engine_process.start(
        "bridge.engine_process:file_show", {"song": str(song), **spec}, timeout_s=LIMIT_S
    )


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_tui_over_engine_process_overrides_and_stop(song: Path, tmp_path: Path) -> None:
    remote = start(song, folder=str(tmp_path / "show"))
    pid = remote.pid
    assert pid != os.getpid() and alive(pid)
    app = make_app(cast(Show, remote), profile_dirs=[])

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            # A snapshot from the child reaches the app.
            await until(pilot, lambda: remote.engine.latest is not None, LIMIT_S)
            first = remote.engine.latest
            assert first is not None and first.mode == "auto"
            # An override from the UI side is applied in the child: later snapshots carry it.
            await pilot.press("space")
            assert "mode freeze" in app.mixer.status_text
            await until(
                pilot,
                lambda: (
                    remote.engine.latest is not None
                    and remote.engine.latest.index > first.index
                    and remote.engine.latest.mode == "freeze"
                ),
                LIMIT_S,
            )
            # Per-channel: a trim goes to the child and comes back in the mirrored settings.
            await pilot.press("plus")
            assert remote.engine.safety.channels[0].offset_db == pytest.approx(0.5)
            await pilot.press("u")  # undo, run by the child's own desk
            assert remote.engine.safety.channels[0].offset_db == pytest.approx(0.0)
            await pilot.press("q")

    asyncio.run(body())
    # Quitting stops the show; the child writes its files and ends.
    assert remote.close(LIMIT_S) == 0
    assert not alive(pid)
    assert remote.stats is not None and remote.stats.stopped_by == "stop requested"
    summary = json.loads((tmp_path / "show" / "summary.json").read_text())
    assert summary["stopped_by"] == "stop requested" and summary["hops"] == remote.stats.hops


def test_stop_ends_the_child(song: Path) -> None:
    remote = start(song)
    received: list[int] = []
    remote.add_listener(lambda snap: received.append(snap.index))
    runner = threading.Thread(target=remote.run, daemon=True)
    runner.start()
    wait_for(lambda: len(received) >= 2, "two snapshots", LIMIT_S)
    remote.stop()
    runner.join(LIMIT_S)
    assert remote.done.is_set() and not remote.gone
    remote.process.join(LIMIT_S)
    assert remote.process.exitcode == 0
    assert remote.stats is not None and remote.stats.hops >= 2


def test_a_killed_child_is_shown_as_gone(song: Path) -> None:
    remote = start(song)
    app = make_app(cast(Show, remote), profile_dirs=[])

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: remote.engine.latest is not None, LIMIT_S)
            os.kill(remote.pid, signal.SIGKILL)
            await until(pilot, lambda: app.finished, LIMIT_S)
            assert "gone" in remote.gone and "nothing moves the faders" in remote.gone
            info = str(app.mixer.query_one("#info").content)  # type: ignore[attr-defined]
            assert "NOTHING MOVES THE FADERS" in info
            assert "engine process gone" in app.mixer.status_text
            # An override now says it went nowhere.
            await pilot.press("space")
            assert "nothing applied" in app.mixer.status_text
            await pilot.press("q")

    asyncio.run(body())
    remote.close(LIMIT_S)


PARENT = textwrap.dedent(
    """
    import sys, time
    from bridge import engine_process
    remote = engine_process.start(
        "bridge.engine_process:file_show", {"song": sys.argv[1]}, timeout_s=120.0
    )
    print(remote.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_parent_ends_the_child(song: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(song)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        child = int(line)
        assert alive(child)
        parent.kill()
        parent.wait(LIMIT_S)
        wait_for(lambda: not alive(child), "the orphaned engine to end", LIMIT_S)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
