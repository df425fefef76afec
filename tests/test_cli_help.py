"""The command line explains itself: every option and argument of every verb has help text, and
`--gain-source` names every registered source (read from the registry)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from bridge.cli import build_parser
from models.gainsource import GAIN_SOURCES


def parsers(
    parser: argparse.ArgumentParser, path: str = "ailive"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def test_every_option_has_help_text() -> None:
    missing = []
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, "options without help: " + ", ".join(missing)


def test_gain_source_help_lists_every_source() -> None:
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if "--gain-source" in action.option_strings:
                text = str(action.help)
                assert all(name in text for name in GAIN_SOURCES), (path, text)
                assert "PATH.pt" in text
