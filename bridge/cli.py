"""The `ailive` command line: devices, demo, run, render, recover, profiles, console."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bridge import __version__
from bridge.config import DEMO_SONG_DIR, VIRTUAL_CONSOLE_HOST

HEADLESS_HUMAN_HOLD_S = 10.0
"""Without the TUI nobody can press release: a fader a person took is the model's again this long
after their last move (unless they hand it back sooner from the console)."""

log = logging.getLogger("ailive")

FAST_EXIT_VERBS = ("demo", "run")
"""A show that has written and closed all its files exits at once: tearing down the interpreter
after torch is loaded took another 1-2 s here, which is how long Ctrl-C would seem to hang."""

EXTENSIONS = ("models.data.cli", "models.cli", "models.learn.cli")
"""Modules that add verbs (data, train, eval): each has `add_parsers(verbs)`, and every parser it
adds sets `handler=` (a function of the parsed arguments returning an exit status) as a default.
Heavy imports stay inside the handlers so `ailive --help` stays quick."""


class CliError(Exception):
    """A problem the user can fix; printed as one line. exit_code 2: bad input, 1: runtime."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one clear line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_common_show(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gain-source",
        metavar="NAME|PATH.pt",
        default=None,
        help=_gain_source_help(),
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no TUI: print progress lines instead (automatic without a terminal)",
    )
    p.add_argument(
        "--seconds", type=_positive_float, default=None, metavar="S", help="stop after S seconds"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("ailive-out"),
        metavar="DIR",
        help="each show writes its own new folder DIR/<date_time>/: events, gains CSV, mix WAV, "
        "log as it runs, summary and REAPER project at the end (default: ./ailive-out)",
    )
    p.add_argument(
        "--human-hold",
        type=_positive_float,
        default=None,
        metavar="S",
        help="a fader you move goes back to the model S seconds after your last move "
        f"(default: {HEADLESS_HUMAN_HOLD_S:g} s headless; with the TUI it stays yours until you "
        "release it there, or on the console: bring it back to where the model left it, or "
        "press the channel's select button)",
    )
    p.add_argument(
        "--mode",
        choices=("absolute", "relative", "listen"),
        default=None,
        help="absolute: the model sets each level; relative: it rides +-range_db around your "
        "soundcheck fader; listen: it shows its proposals and sets nothing (default: the "
        "profile's, else absolute)",
    )
    p.add_argument(
        "--roles",
        default="auto",
        metavar="SPEC",
        help="what is on each channel, for a model trained with channel roles: auto (from the "
        "channel names: Kick, Snare, Lead vox, Sax solo ...), none, or fixes over auto such as "
        "1=kick,2=snare,5-6=rhythm,7=lead,9=none (roles: lead kick snare drums bass rhythm keys "
        "pad strings brass solo)",
    )
    p.add_argument(
        "--start-frozen",
        action="store_true",
        help="start with every channel locked where the console has it; arm them one by one "
        "with the TUI's lock key",
    )
    p.add_argument(
        "--restore-at-end",
        action="store_true",
        help="at the end of the show, glide every fader back to the soundcheck snapshot",
    )
    p.add_argument(
        "--learn",
        action="store_true",
        help="learn mode: also record the captured channels (FLAC) and every fader's position "
        "per hop into the show folder, for `ailive learn` (with --mode listen every fader is "
        "yours; otherwise the channels you hold are)",
    )
    p.add_argument(
        "--play",
        metavar="DEVICE",
        default=None,
        help="direct mode: also play the mono mix on this output device (see `ailive devices`)",
    )


def _gain_source_help() -> str:
    """Every registered gain source, read from the registry (so the help never lags it)."""
    from models.gainsource import GAIN_SOURCES, default_gain_source_name

    return (
        f"what predicts the gains: {', '.join(sorted(GAIN_SOURCES))}, a model you taught "
        "(`ailive learn`; `ailive models` lists them), or PATH.pt (a checkpoint with its "
        f"PATH.json sidecar); default here: {default_gain_source_name()}"
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ailive",
        description="AiLive Mixer: a neural network mixes a live band by moving your faders.",
    )
    parser.add_argument("--version", action="version", version=f"ailive {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True

    p = verbs.add_parser(
        "devices",
        help="list audio inputs/outputs with channel counts",
        description="List audio devices (PortAudio) with their channel counts.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = verbs.add_parser(
        "demo",
        help="mix the bundled multitrack song onto a virtual console (no hardware)",
        description="Play the bundled multitrack song in real time as if captured from a console, "
        "predict gains every 50 ms, and move the faders of a virtual X32 on this "
        "machine. Writes the mono mix WAV and the gain automation at the end.",
    )
    _add_common_show(p)
    p.add_argument(
        "--song",
        type=Path,
        default=DEMO_SONG_DIR,
        metavar="DIR",
        help="a song folder (channels/NN_name.flac) instead of the bundled one",
    )
    p.add_argument("--fast", action="store_true", help="as fast as possible, not real time")
    p.add_argument(
        "--console-port",
        type=_port,
        default=0,
        metavar="PORT",
        help="UDP port of the virtual console (default: any free port)",
    )
    p.add_argument(
        "--faders",
        default="",
        metavar="LIST",
        help="the virtual console's soundcheck levels in dB, e.g. -10,-5,-20,-3,-12,-inf,0,-25",
    )

    p = verbs.add_parser(
        "run",
        help="mix live: capture from an audio device, drive a console",
        description="Capture channels from an audio device (e.g. the console's USB interface) "
        "and drive the faders named by a mapping profile.",
    )
    _add_common_show(p)
    p.add_argument(
        "--device",
        required=True,
        metavar="NAME|INDEX",
        help="input device, by index or part of its name (see `ailive devices`)",
    )
    p.add_argument(
        "--channels",
        default=None,
        metavar="LIST",
        help="capture channels, e.g. 1-32 or 1-8,11 (default: the profile's)",
    )
    p.add_argument(
        "--profile",
        default="x32",
        metavar="NAME|FILE",
        help="mapping profile (see `ailive profiles list`; default x32)",
    )
    p.add_argument("--host", default=None, help="console address (overrides the profile)")
    p.add_argument("--port", type=_port, default=None, help="console port (overrides the profile)")
    p.add_argument(
        "--rpp",
        type=Path,
        default=None,
        metavar="OUT.RPP",
        help="record automation: write the show's gains as REAPER volume envelopes at the end",
    )
    p.add_argument(
        "--no-console",
        action="store_true",
        help="drive no console: only record the mix and automation (direct mode)",
    )

    p = verbs.add_parser(
        "render",
        help="mix a multitrack folder offline, as fast as possible",
        description="Run a song folder through the gain source as fast as possible (zero "
        "latency, as live) and write the mono mix, the gain automation, a summary and the "
        "gains picture (MIX.summary.json, MIX.gains.png).",
    )
    p.add_argument("folder", type=Path, help="song folder with channels/NN_name.flac")
    p.add_argument("--out", type=Path, required=True, metavar="MIX.wav", help="mono mix to write")
    p.add_argument(
        "--gains",
        type=Path,
        default=None,
        metavar="GAINS.csv",
        help="gain automation CSV (default: next to the mix)",
    )
    p.add_argument("--gain-source", metavar="NAME|PATH.pt", default=None, help=_gain_source_help())
    p.add_argument(
        "--seconds",
        type=_positive_float,
        default=None,
        metavar="S",
        help="render only the first S seconds of the song",
    )
    p.add_argument(
        "--rpp",
        type=Path,
        default=None,
        metavar="OUT.RPP",
        help="also write the automation as REAPER volume envelopes (an existing project is "
        "backed up, then updated)",
    )

    p = verbs.add_parser(
        "plot",
        help="draw a show's or a render's gains: one panel per channel",
        description="One panel per channel: the gain sent over time, the model's proposal, the "
        "floor and ceiling, frozen and held spans shaded, and the song's sections when known. "
        "Needs matplotlib (the plot extra).",
    )
    p.add_argument(
        "path",
        type=Path,
        metavar="SHOWDIR|MIX.wav",
        help="a show folder (its trace.npz or gains.csv), a render's mix file, or a trace/CSV",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PNG",
        help="picture to write (default: gains.png in the folder, MIX.gains.png by a render)",
    )

    p = verbs.add_parser(
        "recover",
        help="finish the folder of a show that was killed: summary and REAPER project",
        description="A show killed before its end (power, SIGKILL) leaves its journal: events, "
        "gains CSV and mix WAV up to the last second. This writes the summary.json and show.RPP "
        "the show would have written.",
    )
    p.add_argument("folder", type=Path, help="the show's folder, e.g. ailive-out/<date_time>")

    p = verbs.add_parser(
        "profiles",
        help="list, show and check console mapping profiles",
        description="Mapping profiles live in mappings/ and ~/.config/ailive/mappings/.",
    )
    pv = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    pv.required = True
    pv.add_parser("list", help="every profile found, and the ones that fail to load")
    s = pv.add_parser("show", help="one profile, resolved")
    s.add_argument("name", help="profile name or file")
    c = pv.add_parser("check", help="validate profile files (exit 2 if any is bad)")
    c.add_argument("files", nargs="+", type=Path, metavar="FILE", help="profile .toml files")

    p = verbs.add_parser(
        "console",
        help="run the virtual X32 console on its own (rehearse without hardware)",
        description="A local OSC endpoint speaking the X32 subset AiLive uses: faders with the "
        "console's law and 1024 steps, names, /xinfo, /xremote.",
    )
    p.add_argument(
        "--host",
        default=VIRTUAL_CONSOLE_HOST,
        help=f"address to listen on (default {VIRTUAL_CONSOLE_HOST}; 0.0.0.0 for the network)",
    )
    p.add_argument("--port", type=_port, default=10023, help="UDP port (default 10023, as an X32)")
    p.add_argument(
        "--channels",
        type=int,
        default=32,
        choices=range(1, 33),
        metavar="N",
        help="channels on the console, 1-32 (default 32)",
    )
    p.add_argument(
        "--faders",
        default="",
        metavar="LIST",
        help="start levels in dB of channels 1.., e.g. -10,-5,-20,-3,-12,-inf,0,-25",
    )

    p = verbs.add_parser(
        "restore",
        help="glide the console back to a show's soundcheck snapshot",
        description="Connect to the output a show drove and move every fader back to the levels "
        "read at its start (SHOWDIR/snapshot.json), one slew step per 50 ms.",
    )
    p.add_argument("showdir", type=Path, help="the show's --out folder")
    p.add_argument("--host", default=None, help="console address (default: the show's)")
    p.add_argument("--port", type=_port, default=None, help="console port (default: the show's)")

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that part of the product is not installed
            raise
        module.add_parsers(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bridge.log import setup_logging

    setup_logging(args.verbose, args.quiet)
    from bridge import commands

    handler = getattr(args, "handler", None) or getattr(commands, f"cmd_{args.verb}")
    try:
        code = int(handler(args) or 0)
    except CliError as exc:
        print(f"ailive {args.verb}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if argv is None and args.verb in FAST_EXIT_VERBS:  # the program itself, not a caller's test
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2))
