"""Log lines never reach the terminal while the TUI runs: they go to the app's log screen (`g`)
and the show's log file. A deadline alarm is a banner in the master panel."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from textual.widgets import RichLog

from bridge.log import LogFile, console_logging_to, setup_logging
from bridge.tui import make_app
from bridge.tui.log_screen import LogScreen, TuiLogHandler
from bridge.tui.master import MasterView, info_text
from tests.paced import until
from tests.test_tui import ended_show, make_show, master_text, run

log = logging.getLogger("bridge.engine")


def test_log_records_go_to_the_log_screen_and_file_not_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    show = make_show(4, seconds=0.3)
    setup_logging()  # the CLI's terminal handler, which the TUI must move aside
    logfile = LogFile(tmp_path)

    async def body() -> None:
        app = make_app(show, run_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            with console_logging_to(TuiLogHandler(app)):
                log.warning("human override on channel 2 at -3.0 dB")
                await until(pilot, lambda: len(app.log_lines) == 1)
            # The newest warning is also on the mixer's status line.
            assert "human override on channel 2" in app.mixer.status_text
            await pilot.press("g")
            assert isinstance(app.screen, LogScreen)
            lines = app.screen.query_one(RichLog).lines
            assert any("human override on channel 2" in line.text for line in lines)
            await pilot.press("g")
            assert app.screen is app.mixer
            await pilot.press("q")

    try:
        run(body())
    finally:
        logfile.close()
    assert "human override" not in capsys.readouterr().err  # nothing printed over the TUI
    assert "human override on channel 2" in (tmp_path / "show.log").read_text()
    log.warning("after the TUI")  # the terminal has its handler back
    assert "after the TUI" in capsys.readouterr().err


def test_the_deadline_alarm_is_a_banner() -> None:
    show = ended_show(2, seconds=0.3)
    quiet = MasterView(snapshot=None)
    assert "DEADLINE" not in info_text("x", 0.05, quiet).plain

    async def body() -> None:
        app = make_app(show, run_engine=True, exit_when_done=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: show.done.is_set() and "compute" in master_text(app))
            snap = show.engine.latest
            assert snap is not None and not snap.alarm
            alarmed = dataclasses.replace(snap, alarm="3 deadline misses in the last 5 s")
            text = info_text("x", 0.05, MasterView(snapshot=alarmed))
            assert "DEADLINE ALARM: 3 deadline misses in the last 5 s" in text.plain
            span = next(s for s in text.spans if "red" in str(s.style))
            assert "DEADLINE ALARM" in text.plain[span.start : span.end]
            # Same number of lines as without the alarm: the layout does not jump.
            plain = info_text("x", 0.05, MasterView(snapshot=snap)).plain
            assert text.plain.count("\n") == plain.count("\n")
            await pilot.press("q")

    run(body())
