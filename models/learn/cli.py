"""`ailive learn` (fine-tune on the engineer's recorded shows) and `ailive models` (list)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parsers(verbs: Any) -> None:
    p = verbs.add_parser(
        "learn",
        help="fine-tune a model on your own mix, recorded with --learn",
        description="Fine-tune the base model on the engineer's hops of show folders recorded "
        "with `ailive run --learn` / `demo --learn`. The last 10%% of each recording is held "
        "out; a model that does no better there than the base is not saved. The model goes "
        "to the user's data folder ($XDG_DATA_HOME/ailive/models, default "
        "~/.local/share/ailive/models); use it with `--gain-source NAME`.",
    )
    p.add_argument("shows", type=Path, nargs="*", metavar="SHOWDIR", help="recorded shows")
    p.add_argument("--rpp", type=Path, action="append", default=[], metavar="FILE.RPP",
                   help="a REAPER project to learn from: its tracks' audio items (at 0 s, "
                   "48 kHz) and volume envelopes (repeatable)")  # fmt: skip
    p.add_argument("--gains", nargs=2, type=Path, action="append", default=[],
                   metavar=("SONGDIR", "GAINS.csv"),
                   help="a folder of channels (channels/NN_name.flac) and a gains CSV (one "
                   "row per 50 ms, a dB column per channel, as a show's gains.csv) "
                   "(repeatable)")  # fmt: skip
    p.add_argument("--base", default="alm-mr", metavar="NAME|PATH.pt",
                   help="the model to start from (default alm-mr)")  # fmt: skip
    p.add_argument("--name", required=True, help="name of the learned model (e.g. my-venue)")
    p.add_argument("--steps", type=int, default=300, metavar="N",
                   help="optimiser steps (default 300)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace a learned model of that name")
    p.set_defaults(handler=cmd_learn)

    m = verbs.add_parser("models", help="list the shipped and the learned models")
    m.add_argument("--json", action="store_true", help="as JSON")
    m.set_defaults(handler=cmd_models)


def _base_path(name: str) -> Path:
    from models.gainsource import checkpoint_path, is_checkpoint_name, learned_checkpoint

    if is_checkpoint_name(name):
        return Path(name)
    shipped = checkpoint_path(name)
    if shipped.is_file() and shipped.with_suffix(".json").is_file():
        return shipped
    learned = learned_checkpoint(name)
    if learned is not None:
        return learned
    raise ValueError(f"--base {name}: no such model (see `ailive models`) or PATH.pt")


def cmd_learn(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.checkpoint import CheckpointError
    from models.learn.recording import RecordingError, read_recording
    from models.learn.userdata import check_name, learned_path

    try:
        name = check_name(args.name)
        base = _base_path(args.base)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.steps < 1:
        raise CliError("--steps must be at least 1")
    out = learned_path(name)
    if out.exists() and not args.force:
        raise CliError(f"a learned model {name!r} exists ({out}); use --force to replace it")
    if not (args.shows or args.rpp or args.gains):
        raise CliError("give at least one SHOWDIR, --rpp FILE or --gains SONGDIR GAINS.csv")
    from models.learn.imports import from_folder, from_rpp

    try:
        recordings = [read_recording(folder) for folder in args.shows]
        recordings += [from_rpp(path) for path in args.rpp]
        recordings += [from_folder(folder, csv) for folder, csv in args.gains]
    except (RecordingError, OSError) as exc:
        raise CliError(str(exc)) from exc
    import torch

    from models.learn.finetune import LearnConfig, LearnError, fine_tune

    torch.set_num_threads(1)
    try:
        result = fine_tune(recordings, base, out, cfg=LearnConfig(steps=args.steps),
                           base_name=args.base)  # fmt: skip
    except LearnError as exc:
        raise CliError(str(exc), exit_code=1) from exc
    except CheckpointError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"learned {name}: held-out gain error {result.learned_loss:.2f} dB "
        f"(base {result.base_loss:.2f} dB) from {result.engineer_minutes:.1f} min of your mix "
        f"in {result.cpu_s:.0f} s of CPU"
    )
    print(f"   model: {result.path}")
    print(f"   curve: {result.curve}")
    print(f"     use: --gain-source {name}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from models.learn.userdata import list_models, models_dir

    entries = list_models()
    if args.json:
        print(json.dumps([
            {"name": e.name, "kind": e.kind, "path": str(e.path), "detail": e.detail,
             "error": e.error} for e in entries
        ], indent=2))  # fmt: skip
        return 0
    for e in entries:
        print(f"{e.name:<20} {e.kind:<8} {'BAD: ' + e.error if e.error else e.detail}")
    print(f"(learned models live in {models_dir()})")
    return 0
