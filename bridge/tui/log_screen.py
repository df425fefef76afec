"""Log records while the TUI owns the terminal: kept in the app (never printed over the
screen) and shown on the log screen (`g`); the show's log file has them all as well."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, RichLog

KEEP_LINES = 1000


@dataclass
class LogLine(Message):
    """One formatted log record, posted from whichever thread logged it."""

    text: str
    level: int


class TuiLogHandler(logging.Handler):
    """Posts each record to the app as a LogLine message (thread-safe, never blocks)."""

    def __init__(self, app: App[None]) -> None:
        super().__init__(logging.INFO)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a bad record must not reach the terminal either
            return
        # The app not running (yet, or any more): the show's log file has the record.
        with contextlib.suppress(Exception):
            self.app.post_message(LogLine(text, record.levelno))


class LogScreen(Screen[None]):
    """The show's log lines, newest last; `g` or escape goes back to the mixer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g,escape", "app.pop_screen", "back to the mixer"),
    ]

    def __init__(self, lines: deque[tuple[int, str]]) -> None:
        super().__init__(id="log")
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield RichLog(id="log-lines", wrap=True, markup=False, max_lines=KEEP_LINES)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        view = self.query_one(RichLog)
        for level, text in self.lines:
            view.write(_styled(level, text))

    def add(self, level: int, text: str) -> None:
        self.query_one(RichLog).write(_styled(level, text))


def _styled(level: int, text: str) -> object:
    from rich.text import Text

    style = "bold red" if level >= logging.ERROR else "yellow" if level >= logging.WARNING else ""
    return Text(text, style=style)
