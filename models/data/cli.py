"""`ailive data ...`: generate synthetic live multitracks, import real ones, summarise them."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 4.0 <= value <= 600.0:
        raise argparse.ArgumentTypeError(f"song length must be 4..600 s, got {text}")
    return value


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected three numbers like 0.8,0.1,0.1: {text!r}"
        ) from None
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise argparse.ArgumentTypeError(f"expected three non-negative numbers: {text!r}")
    return parts[0], parts[1], parts[2]


def add_parsers(verbs: Any) -> None:
    p = verbs.add_parser(
        "data",
        help="generate synthetic live multitracks (bleed, targets, oracle gains), import, info",
        description="The live-stage data engine: band songs rendered per part, placed on a "
        "random stage with close mics and bleed, with an engineer-like target mix and oracle "
        "gains. See models/data/README.md.",
    )
    sub = p.add_subparsers(dest="data_verb", metavar="ACTION", parser_class=type(p))
    sub.required = True

    s = sub.add_parser(
        "synth",
        help="generate a train/validation/test set of synthetic songs",
        description="Generate N songs into DIR/{train,validation,test}/ (split by the seed) "
        "and DIR/dataset.json. Songs already there with the same seed are kept.",
    )
    s.add_argument("--songs", type=_positive_int, required=True, metavar="N",
                   help="how many songs to generate")  # fmt: skip
    s.add_argument("--seconds", type=_seconds, default=20.0, metavar="S", help="song length")
    s.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="dataset folder to write (split folders inside)")  # fmt: skip
    s.add_argument("--seed", type=int, default=0, metavar="K", help="dataset seed (default 0)")
    s.add_argument("--workers", type=_positive_int, default=None, metavar="W",
                   help="parallel processes (default: the CPU count, at most 8)")  # fmt: skip
    s.add_argument("--styles", default=None, metavar="A,B", help="styles to cycle through")
    s.add_argument("--splits", type=_fractions, default=None, metavar="TR,VA,TE",
                   help="split fractions (default 0.8,0.1,0.1)")  # fmt: skip
    s.add_argument(
        "--pool", choices=("train", "wide", "heldout"), default=None,
        help="sound pool the soundfont and drum kit are drawn from per song (default: train; "
        "wide: train + a Csound GM bank and a breakbeat kit; heldout: the held-out-sounds split, "
        "second engineer, all test)",
    )  # fmt: skip
    s.add_argument(
        "--engineer", choices=("first", "second"), default=None,
        help="rules table of the target mix (default: first; second with --pool heldout)",
    )  # fmt: skip
    s.add_argument(
        "--no-augment", action="store_true",
        help="no EQ tilt, compression, saturation, detune or timing changes",
    )  # fmt: skip
    s.add_argument(
        "--soundfont", type=Path, default=None, metavar="SF2",
        help="one GM soundfont for every part (GM kits, no augmentation) instead of a pool",
    )  # fmt: skip
    s.add_argument(
        "--backend", choices=("auto", "inprocess", "cli"), default="auto",
        help="FluidSynth in-process (pyfluidsynth) or the fluidsynth program",
    )  # fmt: skip
    s.add_argument(
        "--images", action="store_true",
        help="also store every source's image in every channel (images/, 24-bit)",
    )  # fmt: skip
    s.set_defaults(handler=cmd_synth)

    i = sub.add_parser(
        "info",
        help="summarise a dataset or song folder",
        description="Songs per split and style, length, size on disk, bleed and oracle SNRs.",
    )
    i.add_argument("path", type=Path, metavar="DIR", help="a dataset or song folder")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(handler=cmd_info)

    m = sub.add_parser(
        "import",
        help="convert a MedleyDB song or a folder of channel files + mix into a song folder",
        description="MedleyDB (<Song>/<Song>_METADATA.yaml, _RAW/, _MIX.wav): bleed simulated "
        "on the RAW tracks. A folder of channel files with a mix: used as recorded, unless "
        "--simulate-bleed.",
    )
    m.add_argument("source", type=Path, metavar="SRC", help="multitrack folder to import")
    m.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="song folder to write")  # fmt: skip
    m.add_argument("--mix", default=None, metavar="FILE", help="the reference mix in SRC")
    m.add_argument("--seed", type=int, default=0, metavar="K", help="stage seed")
    m.add_argument("--seconds", type=_seconds, default=None, metavar="S", help="keep the start")
    m.add_argument("--simulate-bleed", action="store_true", help="folder tracks are clean")
    m.add_argument("--no-bleed", action="store_true", help="MedleyDB: RAW tracks as channels")
    m.set_defaults(handler=cmd_import)


class _Progress:
    """generate()'s progress callback on the shared bar (bridge.progress): a bar with ETA on a
    terminal, one line per song otherwise."""

    def __init__(self, stream: Any = sys.stderr) -> None:
        self.stream = stream
        self.bar: Any = None

    def __call__(self, done: int, total: int, result: dict[str, Any] | None) -> None:
        from bridge.progress import Progress

        if self.bar is None:
            self.bar = Progress(
                total, "synth", unit=" songs", decimals=0, stream=self.stream, every_s=0.0
            )
        if result is not None:
            self.bar.label = f"synth {Path(result['folder']).name}"
        self.bar.update(done)
        if done == total:
            self.bar.done()


def cmd_synth(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.data.dataset import DEFAULT_FRACTIONS, default_workers, generate, plan_dataset
    from models.data.render import find_soundfont, in_process_available
    from models.data.synth import SynthConfig

    if args.soundfont is not None and args.pool is not None:
        raise CliError("--soundfont and --pool exclude each other: one soundfont, or a pool")
    pool = None if args.soundfont is not None else (args.pool or "train")
    engineer = args.engineer or ("second" if pool == "heldout" else "first")
    fractions = args.splits or ((0.0, 0.0, 1.0) if pool == "heldout" else DEFAULT_FRACTIONS)
    # The arguments first (a usage error, exit 2), then what this machine has (exit 1): a wrong
    # style is reported as such on a machine without the sound pools too.
    styles = args.styles.split(",") if args.styles else None
    try:
        jobs = plan_dataset(args.songs, args.seed, styles, fractions)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    try:
        if pool is not None:
            from models.data.sounds import pool_paths

            if not in_process_available():
                raise FileNotFoundError(
                    "a sound pool renders in-process: pip install pyfluidsynth "
                    "(Debian/Ubuntu: apt-get install fluidsynth)"
                )
            pool_paths(pool)
            soundfont = None
        else:
            soundfont = find_soundfont(args.soundfont)
        if args.backend == "inprocess" and not in_process_available():
            raise FileNotFoundError(
                "pyfluidsynth or libfluidsynth is missing: pip install pyfluidsynth "
                "(Debian/Ubuntu: apt-get install fluidsynth)"
            )
        if args.backend == "cli" or not in_process_available():
            from models.data.render import find_fluidsynth

            find_fluidsynth()
    except FileNotFoundError as exc:
        raise CliError(str(exc), exit_code=1) from exc
    cfg = SynthConfig(
        seconds=args.seconds, soundfont=soundfont, backend=args.backend, pool=pool,
        augment=not args.no_augment, engineer=engineer,
    )  # fmt: skip
    workers = args.workers or default_workers()
    t0 = time.perf_counter()
    desc = generate(
        args.out, jobs, cfg, workers=workers, images=args.images, progress=_Progress(),
        dataset_seed=args.seed,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    made = desc["results"]
    if made:
        audio_s = len(made) * args.seconds
        per_song = sum(r["total_s"] for r in made) / len(made)
        size = sum(r["bytes"] for r in made) / len(made)
        print(
            f"made {len(made)} songs of {args.seconds:g} s in {wall:.1f} s with {workers} "
            f"worker(s): {audio_s / wall:.1f}x real time; {per_song:.1f} s and "
            f"{size / 1e6:.1f} MB per song"
        )
    print(f"{args.out}: " + ", ".join(f"{k} {v}" for k, v in desc["splits"].items()))
    if desc["failed"]:
        for f in desc["failed"]:
            print(f"failed: {f['folder']}: {f['error']}", file=sys.stderr)
        raise CliError(f"{len(desc['failed'])} song(s) failed", exit_code=1)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.data.info import format_summary, summarise
    from models.song import SongError

    try:
        summary = summarise(args.path)
    except SongError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from bridge.cli import CliError
    from models.data.loaders import (
        ImportOptions,
        alignment_lines,
        load_folder,
        load_medleydb,
        write_imported,
    )
    from models.data.store import SongData
    from models.song import SongError

    src: Path = args.source
    data: SongData
    try:
        if (src / f"{src.name}_METADATA.yaml").is_file():
            opts = ImportOptions(not args.no_bleed, args.seed, max_seconds=args.seconds)
            data = load_medleydb(src, opts)
        else:
            opts = ImportOptions(args.simulate_bleed, args.seed, max_seconds=args.seconds)
            data = load_folder(src, args.mix, opts)
    except SongError as exc:
        raise CliError(str(exc)) from exc
    write_imported(data, args.out)
    for line in alignment_lines(data):
        print(line)
    snr = data.song.meta.extra.get("oracle", {}).get("snr_db", {})
    print(
        f"wrote {args.out}: {len(data.song.names)} channels, {data.song.seconds:.1f} s; "
        f"oracle SNR {snr.get('frame', '-')} dB (raw {snr.get('raw_best_master', '-')} dB)"
    )
    return 0
