"""The training engineer's role levels on top of a checkpoint: an experiment for `ailive eval`.

Fits learn mode's role-level table (models.learn.levels.fit_role_levels) on a dataset's
training split, with the engineer's gains as channel faders (models.train.features.
channel_ideal_db) or, with --static-oracle, the data engine's static oracle gains, and writes a
copy of the checkpoint whose sidecar carries the table (`training.role_levels_db`) and the
strength, which `make_gain_source` plays as a LevelledMixer. README, "Thirteenth session".

    .venv/bin/python benchmarks/training_levels.py --data data/train --strength 0.5 \\
        --out runs/lv50
    .venv/bin/ailive eval --data data/heldout --systems alm-mr,runs/lv50/lv50.pt --examples 0
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from models.data.store import read_song_data
from models.eval.run import find_songs
from models.gainsource import checkpoint_path
from models.learn.levels import fit_role_levels, role_table
from models.train.features import channel_ideal_db


def song_faders(folder: Path, static_oracle: bool) -> tuple[np.ndarray, np.ndarray, list, int]:
    """(audio, faders (frames, C) dB, roles, hop) of one song; faders empty where it has none."""
    data = read_song_data(folder)
    song = data.song
    hop = int(song.meta.extra.get("hop_samples", song.sample_rate // 20))
    roles = [c.role for c in song.meta.channels]
    frames = song.audio.shape[1] // hop
    if static_oracle:
        gains = data.oracle_static_db
        faders = np.zeros((0, 0)) if gains is None else np.tile(gains, (frames, 1))
    else:
        ideal = channel_ideal_db(data)
        faders = np.zeros((0, 0)) if ideal is None else ideal.astype(np.float64)
    return song.audio, faders, roles, hop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--base", default="alm-mr", help="shipped checkpoint name (default alm-mr)")
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--static-oracle", action="store_true")
    ap.add_argument("--out", type=Path, required=True, help="folder: OUT/NAME.pt + .json")
    args = ap.parse_args()
    folders = find_songs(args.data, args.split)
    samples: dict[str, list[float]] = {}
    for folder in folders:
        audio, faders, roles, hop = song_faders(folder, args.static_oracle)
        if faders.size:
            for role, values in fit_role_levels(audio, faders, roles, hop).items():
                samples.setdefault(role, []).extend(values)
    table = role_table(samples)
    if not table:
        raise SystemExit(f"no role levels from {len(folders)} songs in {args.data / args.split}")
    spread = {r: round(float(np.subtract(*np.percentile(v, [75, 25]))), 2)
              for r, v in sorted(samples.items())}  # fmt: skip
    print(f"{len(folders)} songs; table {table}; IQR of the samples {spread}")
    name = args.out.name
    args.out.mkdir(parents=True, exist_ok=True)
    base = checkpoint_path(args.base)
    shutil.copy(base, args.out / f"{name}.pt")
    sidecar = json.loads(base.with_suffix(".json").read_text())
    sidecar["weights"] = f"{name}.pt"
    sidecar.setdefault("training", {}).update(
        role_levels_db=table,
        role_levels_strength=args.strength,
        role_levels_from={"data": str(args.data), "split": args.split, "songs": len(folders),
                          "faders": "static oracle" if args.static_oracle else "engineer"},
    )  # fmt: skip
    (args.out / f"{name}.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    print(f"wrote {args.out / name}.pt + .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
