"""Logging set-up for the CLI: levels, one format, quiet libraries."""

from __future__ import annotations

import logging
import sys
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


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """0: warnings and the progress lines (INFO from ailive); 1: INFO everywhere; 2+: DEBUG."""
    if quiet:
        level = logging.WARNING
    elif verbose >= 2:
        level = logging.DEBUG
    else:
        level = logging.INFO
    logging.basicConfig(
        level=level,
        handlers=[StderrHandler()],
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    if verbose < 1:
        for noisy in ("asyncio", "matplotlib", "numba", "textual"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
