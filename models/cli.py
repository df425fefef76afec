"""`ailive train` and `ailive eval`: the model verbs (heavy imports stay inside the handlers)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

DEFAULT_SYSTEMS = (
    "alm-mr,alm-sr,dmc-og,dmc-b-0l,raw,gainsharing,autofader,oracle,static-oracle,slew-oracle,"
    "balance-oracle,ideal-gains,taste-mean,first-taste"
)


def add_parsers(verbs: Any) -> None:
    t = verbs.add_parser(
        "train",
        help="train a mixer network (ALM-MR/SR, DMC) from a TOML config",
        description="Train from a config (models/train/configs/*.toml) into OUT/NAME/: the best "
        "checkpoint NAME.pt + NAME.json, last.pt (resume), history.json, curve.png. Runs under "
        "torchrun for several processes (DDP).",
    )
    t.add_argument("--config", type=Path, required=True, metavar="FILE",
                   help="training config (models/train/configs/*.toml)")  # fmt: skip
    t.add_argument("--resume", action="store_true", help="continue from OUT/NAME/last.pt")
    t.add_argument("--out", type=Path, default=Path("runs"), metavar="DIR",
                   help="runs folder: OUT/NAME/ gets checkpoints, logs (default runs)")  # fmt: skip
    t.set_defaults(handler=cmd_train)

    e = verbs.add_parser(
        "eval",
        help="evaluate gain sources on held-out songs (markdown + JSON tables, plots, mixes)",
        description="Run every system through the same streaming gain-source interface at "
        "zero latency on DIR/test/ (or the song folders in DIR) and write results.md, "
        "results.json, gain plots and example mixes to OUT.",
    )
    e.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="dataset folder (from `ailive data synth` or `data import`)")  # fmt: skip
    e.add_argument("--systems", default=DEFAULT_SYSTEMS, metavar="A,B",
                   help=f"comma-separated (default: {DEFAULT_SYSTEMS})")  # fmt: skip
    e.add_argument("--split", default="test", help="split folder inside DIR (default test)")
    e.add_argument("--out", type=Path, default=Path("ailive-out/eval"), metavar="DIR",
                   help="where the table, plots and example mixes go")  # fmt: skip
    e.add_argument("--examples", type=int, default=2, metavar="N", help="songs to render")
    e.add_argument("--max-songs", type=int, default=0, metavar="N", help="0: all")
    e.add_argument("--workers", type=int, default=None, metavar="W",
                   help="songs evaluated in parallel processes (default: the CPU count, at "
                   "most 4)")  # fmt: skip
    e.add_argument("--no-gate", action="store_true",
                   help="the bare gain sources: without the activity gate the engine plays "
                   "them through (a channel carrying only bleed holds its fader)")  # fmt: skip
    e.add_argument("--no-roles", action="store_true",
                   help="do not tell a network trained with channel roles the songs' roles "
                   "(every channel unnamed)")  # fmt: skip
    e.set_defaults(handler=cmd_eval)


def cmd_train(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.train.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    from models.train.loop import Trainer

    try:
        result = Trainer(cfg, args.out, resume=args.resume).run()
    except FileNotFoundError as exc:
        raise CliError(str(exc), exit_code=1) from exc
    if result:
        print(json.dumps(result))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.eval.run import EvalError, evaluate

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    workers = args.workers or min(4, os.cpu_count() or 1)
    try:
        report = evaluate(args.data, systems, args.out, split=args.split,
                          examples=args.examples, max_songs=args.max_songs,
                          workers=workers, gate=not args.no_gate,
                          roles=not args.no_roles)  # fmt: skip
    except EvalError as exc:
        raise CliError(str(exc)) from exc
    print(report["markdown"])
    return 0
