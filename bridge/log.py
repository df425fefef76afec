"""Logging set-up for the CLI: levels, one format, quiet libraries; a show's log file; and
moving the console's log lines out of the way while the TUI owns the terminal."""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is when a record comes, not the stream it was at set-up:
    a thread that outlives a redirected stderr (the TUI's, a test's capture) never writes to a
    closed file."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATEFMT = "%H:%M:%S"
LOG_FILE = "show.log"


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """0: warnings and the progress lines (INFO from ailive); 1: INFO everywhere; 2+: DEBUG."""
    if quiet:
        level = logging.WARNING
    elif verbose >= 2:
        level = logging.DEBUG
    else:
        level = logging.INFO
    logging.basicConfig(
        level=level, handlers=[StderrHandler()], format=FORMAT, datefmt=DATEFMT, force=True
    )
    if verbose < 1:
        for noisy in ("asyncio", "matplotlib", "numba", "textual"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


class LogFile:
    """Every log record of a show into `folder/show.log`, written by a listener thread: a record
    logged on the engine's thread only goes onto a queue (the hop never waits on the disk)."""

    def __init__(self, folder: Path, level: int = logging.INFO) -> None:
        self.path = folder / LOG_FILE
        handler = logging.FileHandler(self.path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))  # full date and time in the file
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._handler = logging.handlers.QueueHandler(self._queue)
        self._handler.setLevel(level)
        self._file = handler
        self._listener = logging.handlers.QueueListener(self._queue, handler)
        self._listener.start()
        logging.getLogger().addHandler(self._handler)
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        logging.getLogger().removeHandler(self._handler)
        self._listener.stop()
        self._file.close()


def _is_console(handler: logging.Handler) -> bool:
    """The terminal's handler (what `setup_logging` made), not a file or a test's capture."""
    return type(handler) in (logging.StreamHandler, StderrHandler)


@contextmanager
def console_logging_to(handler: logging.Handler) -> Iterator[None]:
    """While the TUI owns the terminal: log records go to `handler` (the TUI's log screen)
    instead of the terminal, and back to the terminal afterwards."""
    root = logging.getLogger()
    moved = [h for h in root.handlers if _is_console(h)]
    for h in moved:
        root.removeHandler(h)
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for h in moved:
            root.addHandler(h)
