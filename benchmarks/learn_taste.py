"""Learn mode against a simulated engineer with a taste of its own (issue 14's measurement).

1. Two recorded shows of synthetic 8-channel songs the shipped ALM-MR never trained on (a
   dataset of the training pool made for this, or the training dataset's songs outside the
   checkpoint's `train_songs`), each song's faders
   mixed by the simulated engineer (`models.learn.simulated`: lead +3 dB, drums -3 dB, bass
   +2 dB, slower rides) on the virtual X32 while AiLive listens (`bridge.rehearsal`: the real
   engine, X32 client and recorder, paced hop by hop). Show A is the first half of the songs,
   show B the second.
2. `fine_tune` on show A (its last 10 % held out), from alm-mr.
3. On show B, per song: the balance (models.eval.balance) of base and learned against the
   engineer's mix, which is the channels at the recorded faders (so the sources, bleed
   included, as that mix carries them).
4. `ailive eval`'s balance median of both on the standard synthetic test split.

    ailive data synth --songs 120 --seconds 20 --pool train --engineer first --splits 1,0,0 \
        --seed 4242 --out data/unseen
    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/learn_taste.py \
        --data data/unseen --test-data data/train --work data/learn-unseen [--songs 60]

Writes benchmarks/results/learn_taste.md (and JSON beside it).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bridge.rehearsal import rehearse
from models.checkpoint import save_model
from models.data.store import read_song_data
from models.data.targets import gain_curve
from models.eval.balance import BalanceTruth, balance_errors, produced_sources, target_levels
from models.eval.metrics import gain_curve as predicted_curve
from models.eval.run import balance_truth
from models.eval.systems import stream_gains
from models.gainsource import checkpoint_path, make_gain_source, tell_roles
from models.learn.finetune import LearnConfig, fine_tune
from models.learn.recording import Recording, read_recording
from models.learn.simulated import TASTE_DB, engineer_faders
from models.song import ChannelInfo, Song, SongMeta, load_song

RESULTS = Path(__file__).parent / "results" / "learn_taste.md"
ROOT = Path(__file__).resolve().parent.parent
HOP = 2400
HEADROOM_DB = 6.0
"""Each song's faders are shifted (one offset per song) so the highest channel's 95th
percentile sits here: the person keeps the faders in their travel (+10 dB at the top)."""


def _dataset_seed(data: Path) -> int | None:
    try:
        return int(json.loads((data / "dataset.json").read_text())["seed"])
    except (OSError, ValueError, KeyError):
        return None


def base_sha256() -> str:
    """The shipped alm-mr's sha256 (from its sidecar): which base a result was measured on."""
    return str(json.loads(checkpoint_path("alm-mr").with_suffix(".json").read_text())["sha256"])


def unseen_songs(data: Path, channels: int, count: int) -> list[Path]:
    """Songs of `channels` channels the shipped alm-mr did not train on, in name order."""
    meta = json.loads(checkpoint_path("alm-mr").with_suffix(".json").read_text())
    used = set(meta["training"]["train_songs"])
    ours, theirs = _dataset_seed(data), _dataset_seed(ROOT / meta["training"]["data"])
    if None not in (ours, theirs) and ours != theirs:
        used = set()  # another dataset: names like 00000_rock repeat across seeds
    out = []
    for split in ("train", "validation"):
        for f in sorted((data / split).glob("*/song.json")):
            song = json.loads(f.read_text())
            if f.parent.name not in used and len(song["channels"]) == channels:
                out.append(f.parent)
    if len(out) < count:
        raise SystemExit(f"only {len(out)} unseen {channels}-channel songs in {data}")
    return out[:count]


def show_of(folders: list[Path]) -> tuple[Song, np.ndarray, list[tuple[str, int, int]]]:
    """The songs played back to back: audio, the engineer's faders (hops, C), song hop ranges."""
    audios, faders, spans = [], [], []
    at = 0
    for folder in folders:
        song = load_song(folder)
        hops = song.audio.shape[1] // HOP
        f = engineer_faders(folder)[:hops]
        top = float(np.max(np.percentile(f, 95, axis=0)))
        f = np.clip(f + (HEADROOM_DB - top), -90.0, 10.0)
        audios.append(song.audio[:, : hops * HOP])
        faders.append(f)
        spans.append((folder.name, at, at + hops))
        at += hops
    names = [f"Ch {i + 1}" for i in range(audios[0].shape[0])]
    meta = SongMeta(sample_rate=48_000, channels=[ChannelInfo(name=n) for n in names])
    return Song(meta, audio=np.concatenate(audios, axis=1)), np.concatenate(faders), spans


def record(
    folders: list[Path], out: Path, label: str, reuse: bool
) -> tuple[Recording, list[Any], float]:
    song, faders, spans = show_of(folders)
    t0 = time.perf_counter()
    done = sorted((out / label).glob("*/learn.json")) if reuse else []
    if done:
        folder = done[-1].parent
    else:
        shutil.rmtree(out / label, ignore_errors=True)
        folder = rehearse(song, faders, make_gain_source("alm-mr"), out / label, title=label)
    wall = time.perf_counter() - t0
    rec = read_recording(folder)
    print(f"{label}: {rec.hops} hops ({rec.hops / 1200:.1f} min) recorded in {wall:.0f} s: "
          f"{folder}", flush=True)  # fmt: skip
    return rec, spans, wall


def balance_against_engineer(
    folder: Path, rec: Recording, a: int, b: int, systems: dict[str, Any]
) -> dict[str, list[float]]:
    """Each system's balance errors (dB, per source) against the engineer's recorded mix."""
    data = read_song_data(folder)
    truth = balance_truth(data)
    assert truth is not None
    n = (b - a) * HOP
    contributions = truth.contributions[:, :, :n]
    engineer = gain_curve(rec.faders_db[a:b], n, HOP)
    cut = BalanceTruth(truth.names, truth.roles, contributions, truth.target[:, :n])
    heard = produced_sources(cut, engineer).astype(np.float32)
    mix_truth = BalanceTruth(truth.names, truth.roles, contributions, heard)
    levels = target_levels(mix_truth, 48_000)
    audio = rec.audio[:, a * HOP : b * HOP]
    roles = [c.role for c in data.song.meta.channels]  # the band's, as `--roles` tells a show
    out = {}
    for name, source in systems.items():
        tell_roles(source, roles)
        gains = stream_gains(source, audio, HOP, 48_000)
        curve = predicted_curve(gains, HOP, n)
        errs = balance_errors(mix_truth, levels, curve, 48_000)
        out[name] = [float(e) for e in errs if np.isfinite(e)]
    return out


def roles_of_song(folder: Path) -> list[str | None]:
    return [c.role for c in read_song_data(folder).song.meta.channels]


def synthetic_split(data: Path, learned: Path, work: Path) -> dict[str, Any]:
    from models.eval.run import evaluate

    # Bare gain sources, like the show-B figures (stream_gains), and as the recorded results
    # were made (before the activity gate).
    report = evaluate(data, ["alm-mr", str(learned)], work / "eval-test", split="test",
                      examples=0, workers=2, gate=False)  # fmt: skip
    summary = report["summary"]
    names = {"alm-mr": "alm-mr", str(learned): "learned"}
    return {
        "report": str(work / "eval-test" / "results.md"),
        "songs": {names[k]: v["songs"] for k, v in summary.items()},
        "balance_median_db": {names[k]: v["balance_median_db"] for k, v in summary.items()},
        "balance_p90_db": {names[k]: v["balance_p90_db"] for k, v in summary.items()},
        "mrstft_matched": {names[k]: v.get("mrstft_matched") for k, v in summary.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--test-data", type=Path, default=None,
                    help="dataset whose test split is measured (default: --data)")  # fmt: skip
    ap.add_argument("--songs", type=int, default=60)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--lr", type=float, default=LearnConfig.lr)
    ap.add_argument("--level-weight", type=float, default=LearnConfig.level_weight)
    ap.add_argument("--train", choices=("all", "head"), default=LearnConfig.train)
    ap.add_argument("--distill", type=float, default=LearnConfig.distill)
    ap.add_argument("--blend", type=float, default=LearnConfig.blend)
    ap.add_argument("--loss", choices=("gain", "balance"), default=LearnConfig.loss)
    ap.add_argument("--ride-weight", type=float, default=LearnConfig.ride_weight)
    ap.add_argument("--validate-every", type=int, default=LearnConfig.validate_every)
    ap.add_argument("--no-levels", action="store_true", help="no role levels (LearnConfig.levels)")
    ap.add_argument("--tag", default="", help="results go to learn_taste-TAG.md/.json")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--curve", action="store_true", help="measure show B at every validation")
    ap.add_argument("--reuse", action="store_true", help="reuse the shows recorded before")
    ap.add_argument("--markdown-only", action="store_true",
                    help="rewrite the markdown from the JSON of the last run")  # fmt: skip
    args = ap.parse_args()
    global RESULTS
    if args.tag:
        RESULTS = RESULTS.with_name(f"learn_taste-{args.tag}.md")
    if args.markdown_only:
        write_markdown(json.loads(RESULTS.with_suffix(".json").read_text()))
        return 0
    torch.set_num_threads(1)
    folders = unseen_songs(args.data, args.channels, args.songs)
    half = len(folders) // 2
    shows = args.work / "shows"
    rec_a, spans_a, wall_a = record(folders[:half], shows, "A", args.reuse)
    rec_b, spans_b, wall_b = record(folders[half:], shows, "B", args.reuse)
    # One show, a band per song: each song's channel roles (a changeover between songs).
    rec_a.role_spans = [(a, b, roles_of_song(next(f for f in folders if f.name == name)))
                        for name, a, b in spans_a]  # fmt: skip
    model = args.work / "models" / f"taste{'-' + args.tag if args.tag else ''}.pt"
    cfg = LearnConfig(
        steps=args.steps,
        lr=args.lr,
        level_weight=args.level_weight,
        train=args.train,
        distill=args.distill,
        loss=args.loss,
        blend=args.blend,
        ride_weight=args.ride_weight,
        validate_every=args.validate_every,
        levels=not args.no_levels,
    )
    snapshots: dict[int, Path] = {}

    def snapshot(step: int, net: Any) -> None:
        snapshots[step] = save_model(net, model.with_name(f"{model.stem}-step{step}.pt"))

    result = fine_tune([rec_a], checkpoint_path("alm-mr"), model, cfg=cfg, base_name="alm-mr",
                       on_validate=snapshot if args.curve else None)  # fmt: skip
    assert result.path is not None
    learned_meta = json.loads(result.path.with_suffix(".json").read_text())
    show_min = rec_a.hops / 1200
    print(f"fine-tune: {result.cpu_s:.0f} s CPU for {show_min:.1f} min of show "
          f"({result.cpu_s / 60 / (show_min / 60):.1f} CPU min per hour); held-out loss "
          f"{result.base_loss:.3f} -> {result.learned_loss:.3f}", flush=True)  # fmt: skip
    systems = {"alm-mr": make_gain_source("alm-mr"), "learned": make_gain_source(str(model))}
    errors: dict[str, list[float]] = {k: [] for k in systems}
    roles: dict[str, dict[str, list[float]]] = {k: {} for k in systems}
    for name, a, b in spans_b:
        folder = next(f for f in folders if f.name == name)
        per = balance_against_engineer(folder, rec_b, a, b, systems)
        song_roles = roles_of_song(folder)
        for k, errs in per.items():
            errors[k] += errs
            for r, e in zip(song_roles, errs, strict=False):
                roles[k].setdefault(r, []).append(abs(e))
    curve = {}
    for step, path in sorted(snapshots.items()):
        at_step: list[float] = []
        for name, a, b in spans_b:
            folder = next(f for f in folders if f.name == name)
            one = {"step": make_gain_source(str(path))}
            at_step += balance_against_engineer(folder, rec_b, a, b, one)["step"]
        curve[step] = round(float(np.median(np.abs(at_step))), 3)
        print(f"show B balance median at step {step}: {curve[step]:.2f} dB", flush=True)
    med = {k: float(np.median(np.abs(v))) for k, v in errors.items()}
    p90 = {k: float(np.percentile(np.abs(v), 90)) for k, v in errors.items()}
    fall = 100 * (med["alm-mr"] - med["learned"]) / med["alm-mr"]
    print(f"held-out show B balance median: base {med['alm-mr']:.2f} dB, learned "
          f"{med['learned']:.2f} dB ({fall:.0f} % lower)", flush=True)  # fmt: skip
    work = args.work / (args.tag or ".")
    test_data = args.test_data or args.data
    split = None if args.skip_eval else synthetic_split(test_data, model, work)
    out: dict[str, Any] = {
        "data": str(args.data),
        "test_data": str(test_data),
        "base_sha256": base_sha256(),
        "songs": len(folders),
        "channels": args.channels,
        "show_a_min": round(show_min, 2),
        "show_b_min": round(rec_b.hops / 1200, 2),
        "record_wall_s": [round(wall_a, 1), round(wall_b, 1)],
        "taste_db": TASTE_DB,
        "steps": args.steps,
        "lr": args.lr,
        "level_weight": args.level_weight,
        "train": args.train,
        "distill": args.distill,
        "loss": args.loss,
        "blend": args.blend,
        "ride_weight": args.ride_weight,
        "validate_every": args.validate_every,
        "validation": result.history.get("validation"),
        "show_b_curve": curve,
        "finetune_cpu_s": round(result.cpu_s, 1),
        "finetune_features_s": round(result.features_s, 1),
        "finetune_train_s": round(result.train_s, 1),
        "cpu_min_per_hour_of_show": round(result.cpu_s / 60 / (show_min / 60), 2),
        "heldout_loss_db": [round(result.base_loss, 3), round(result.learned_loss, 3)],
        "role_levels_db": learned_meta["training"].get("role_levels_db", {}),
        "role_levels_check_db": learned_meta["metrics"].get("heldout_balance_l1_db", {}),
        "balance_median_db": med,
        "balance_p90_db": p90,
        "balance_fall_percent": round(fall, 1),
        "roles_median_db": {
            k: {r: round(float(np.median(v)), 2) for r, v in d.items()} for k, d in roles.items()
        },
        "synthetic_split": split,
    }
    shipped = RESULTS.with_name("learn_taste.json")
    if args.reuse and shipped.exists():  # the shows' recording times are the first run's
        first = json.loads(shipped.read_text())
        out["record_wall_s"] = first.get("record_wall_s", out["record_wall_s"])
        out["record_note"] = "the shows were recorded by the first run; this run reused them"
    RESULTS.with_suffix(".json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    write_markdown(out)
    return 0


def hour_min(out: dict[str, Any]) -> float:
    """CPU minutes of the fine-tune for an hour of show: the features scale, the steps do not."""
    scale = 60.0 / out["show_a_min"]
    rest = out["finetune_cpu_s"] - out["finetune_features_s"]
    return (scale * out["finetune_features_s"] + rest) / 60.0


def write_markdown(out: dict[str, Any]) -> None:
    med, p90 = out["balance_median_db"], out["balance_p90_db"]
    lines = [
        "# Learn mode: a simulated engineer's taste",
        "",
        f"`benchmarks/learn_taste.py --songs {out['songs']} --steps {out['steps']} --lr "
        f"{out.get('lr', 3e-4):g} --level-weight {out.get('level_weight', 0.3):g} --train "
        f"{out.get('train', 'all')} --distill {out.get('distill', 0.0):g} --loss "
        f"{out.get('loss', 'gain')}"
        + (f" --ride-weight {out['ride_weight']:g}" if out.get("loss") == "balance" else "")
        + f" --validate-every {out.get('validate_every', 50)}"
        + f" --blend {out.get('blend', 1.0):g}` on "
        f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"one torch thread, {time.strftime('%Y-%m-%d')}.",
        "",
        f"Songs: `{out.get('data', 'data/train')}` ({out['songs']} songs of "
        f"{out.get('channels', 8)} channels the base never trained on); the standard split: "
        f"`{out.get('test_data', 'data/train')}`, test. "
        f"Base: the shipped alm-mr (sha256 {str(out.get('base_sha256', '?'))[:12]}).",
        "",
        f"Taste (against the rules table): {out['taste_db']}, rides over 1.5 s, no per-song "
        "jitter. Show A (learned from, its last 10 % held out): "
        f"{out['show_a_min']} min; show B (measured): {out['show_b_min']} min; both recorded "
        f"through the virtual X32 in listen mode in {out['record_wall_s']} s"
        + (f" ({out['record_note']})." if out.get("record_note") else "."),
        "",
        "| model | balance median dB (show B) | balance p90 dB |",
        "|---|---:|---:|",
        f"| alm-mr (base) | {med['alm-mr']:.2f} | {p90['alm-mr']:.2f} |",
        f"| learned | {med['learned']:.2f} | {p90['learned']:.2f} |",
        "",
        f"Balance median against the engineer's mix falls by {out['balance_fall_percent']:.0f} %.",
        "",
        f"Fine-tune: {out['finetune_cpu_s']} s of CPU ({out['finetune_features_s']} s of it "
        f"features; the training took {out['finetune_train_s']} s of wall clock on the shared "
        f"machine) for {out['show_a_min']} min of show: "
        f"{out['cpu_min_per_hour_of_show']} CPU minutes per hour of show if all of it grew with "
        f"the show. Only the features do (the steps are fixed): an hour of show is "
        f"{hour_min(out):.1f} CPU minutes (60 / {out['show_a_min']} x the features + the "
        f"training). Held-out gain loss {out['heldout_loss_db'][0]} -> "
        f"{out['heldout_loss_db'][1]} dB.",
        "",
        "Role levels learned (models.learn.levels, dB, centred): "
        f"{out.get('role_levels_db') or 'none'}; "
        f"held-out balance L1 of the fine-tuned network without / with them: "
        f"{out.get('role_levels_check_db') or '-'}.",
        "",
        "Per role, median |error| dB on show B:",
        "",
    ]
    roles = sorted(out["roles_median_db"]["alm-mr"])
    lines += ["| model | " + " | ".join(roles) + " |", "|---|" + "---:|" * len(roles)]
    for k, d in out["roles_median_db"].items():
        cells = " | ".join(f"{d.get(r, float('nan')):.2f}" for r in roles)
        lines.append(f"| {k} | {cells} |")
    split = out.get("synthetic_split")
    if split:
        b, p = split["balance_median_db"], split["balance_p90_db"]
        lines += [
            "",
            f"Standard synthetic test split (`ailive eval` balance, "
            f"{split['songs']['alm-mr']} songs, none flagged: no oracle was run; against the "
            "first engineer's targets):",
            "",
            "| model | balance median dB | balance p90 dB |",
            "|---|---:|---:|",
            f"| alm-mr (base) | {b['alm-mr']:.2f} | {p['alm-mr']:.2f} |",
            f"| learned | {b['learned']:.2f} | {p['learned']:.2f} |",
            "",
            f"Change of the median: {b['learned'] - b['alm-mr']:+.2f} dB.",
        ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    sys.exit(main())
