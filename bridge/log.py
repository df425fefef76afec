"""Logging set-up for the CLI: levels, one format, quiet libraries."""

from __future__ import annotations

import logging


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
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    if verbose < 1:
        for noisy in ("asyncio", "matplotlib", "numba", "textual"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
