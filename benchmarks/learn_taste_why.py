"""Why learn mode falls short on show B: no training, only the base (and a learned model)
streamed over the recorded shows of `benchmarks/learn_taste.py` and their gains corrected.

- the base with the taste's exact static per-role offsets added (the most that learning the
  static part of the taste can give), and with per-role offsets fitted on show A;
- the base with each song's own per-channel median offset to the engineer (an oracle: what is
  left is the rides and the moves within a song);
- the base with the offsets of show A's nearest channels by sound (a memory of the band's
  instruments: each channel's mean embedding where it plays, its 10 nearest show-A channels'
  offsets averaged), the whole song's key or, as a live runner would hold it, the key so far;
- the same for the loudness auto-fader, and for the mean (in dB) of the base and the auto-fader:
  whether a trim per role on a simpler or a steadier level would learn more from show A;
- what the balance metric's mix-wide offset does to the taste (its offsets centered per song);
- how many songs and hops of each role the shows hold;
- per role, what the learned model changed against the base (median and spread over songs).

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.learn_taste_why \
        --data data/unseen --work data/learn-unseen [--learned data/learn-unseen/models/taste.pt]

Writes benchmarks/results/learn_taste-why.md (and JSON beside it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.learn_taste import HOP, base_sha256, show_of, unseen_songs
from models.alm.features import frame_rms_db
from models.checkpoint import load_model
from models.data.store import read_song_data
from models.data.targets import ROLE_LEVELS_DB, gain_curve
from models.eval.balance import BalanceTruth, balance_errors, produced_sources, target_levels
from models.eval.metrics import gain_curve as predicted_curve
from models.eval.run import balance_truth
from models.eval.systems import stream_gains
from models.gainsource import checkpoint_path, make_gain_source
from models.learn.finetune import held_embeddings
from models.learn.recording import read_recording
from models.learn.simulated import taste_engineer

RESULTS = Path(__file__).parent / "results" / "learn_taste-why.md"
Gains = Callable[[str], np.ndarray]


class Shows:
    """Both shows' songs: roles, the engineer's faders and the balance truth of each."""

    def __init__(self, data: Path, work: Path) -> None:
        folders = unseen_songs(data, 8, 60)
        self.songs: dict[str, dict[str, Any]] = {}
        self._truth: dict[str, Any] = {}
        for label, part in (("A", folders[:30]), ("B", folders[30:])):
            rec = read_recording(sorted((work / "shows" / label).glob("*/learn.json"))[-1].parent)
            _, _, spans = show_of(part)
            for name, a, b in spans:
                folder = next(f for f in part if f.name == name)
                roles = [c.role for c in read_song_data(folder).song.meta.channels]
                self.songs[name] = {
                    "show": label,
                    "folder": folder,
                    "roles": roles,
                    "faders": rec.faders_db[a:b],
                    "audio": rec.audio[:, a * HOP : b * HOP],
                }

    def of(self, show: str) -> list[str]:
        return [n for n, s in self.songs.items() if s["show"] == show]

    def stream(self, model: str, show: str) -> dict[str, np.ndarray]:
        source = make_gain_source(model)
        return {n: stream_gains(source, self.songs[n]["audio"], HOP, 48_000) for n in self.of(show)}

    def errors(self, name: str, gains: np.ndarray) -> np.ndarray:
        if name not in self._truth:
            s = self.songs[name]
            truth = balance_truth(read_song_data(s["folder"]))
            assert truth is not None
            n = s["audio"].shape[1]
            contributions = truth.contributions[:, :, :n]
            cut = BalanceTruth(truth.names, truth.roles, contributions, truth.target[:, :n])
            heard = produced_sources(cut, gain_curve(s["faders"], n, HOP)).astype(np.float32)
            mix = BalanceTruth(truth.names, truth.roles, contributions, heard)
            self._truth[name] = (mix, target_levels(mix, 48_000), n)
        mix, levels, n = self._truth[name]
        return balance_errors(mix, levels, predicted_curve(gains, HOP, n), 48_000)

    def balance(self, gains: Gains) -> dict[str, Any]:
        every: list[float] = []
        roles: dict[str, list[float]] = {}
        for name in self.of("B"):
            for role, e in zip(
                self.songs[name]["roles"], self.errors(name, gains(name)), strict=True
            ):
                if np.isfinite(e):
                    every.append(float(e))
                    roles.setdefault(role, []).append(float(e))
        a = np.abs(np.asarray(every))
        return {
            "median": round(float(np.median(a)), 2),
            "p90": round(float(np.percentile(a, 90)), 2),
            "roles": {
                r: [round(float(np.median(np.abs(v))), 2), round(float(np.mean(v)), 2)]
                for r, v in sorted(roles.items())
            },
        }


def song_offsets(faders: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """(C,) median over a song of the engineer's fader minus the gain in force on that hop."""
    n = min(len(gains), len(faders) - 1)
    return np.median(faders[1 : n + 1] - gains[:n], axis=0)


NEIGHBOURS = 10
ACTIVE_DB = 30.0
"""A frame counts towards a channel's key when it is within this of the channel's loudest so far
(and above -70 dBFS)."""


def running_keys(net: Any, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, n) audio -> ((C, F, D) each frame's key: the mean of the channel's embeddings over
    the frames so far where it played, (C, F) whether it has played yet), with `net`'s (an
    ALMNet's) student as the streaming runner refreshes it."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    with torch.no_grad():
        emb = held_embeddings(net, x).double().numpy()
        rms = frame_rms_db(x[None], net.geometry.frame)[0].double().numpy()
    f = min(emb.shape[1], rms.shape[1])
    emb, rms = emb[:, :f], rms[:, :f]
    active = (rms > np.maximum.accumulate(rms, axis=1) - ACTIVE_DB) & (rms > -70.0)
    count = np.cumsum(active, axis=1)
    keys = np.cumsum(emb * active[..., None], axis=1) / np.maximum(count, 1)[..., None]
    return keys, count > 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--learned", type=Path, help="a learned model to compare (default: none)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    shows = Shows(args.data, args.work)
    taste = taste_engineer().role_levels_db
    static = {r: taste[r] - ROLE_LEVELS_DB[r] for r in taste}
    base = {**shows.stream("alm-mr", "A"), **shows.stream("alm-mr", "B")}
    roles_of = {n: s["roles"] for n, s in shows.songs.items()}
    out: dict[str, Any] = {"static_offsets_db": static, "base_sha256": base_sha256()}
    centered: dict[str, list[float]] = {}
    coverage: dict[str, dict[str, list[int]]] = {}
    for s in shows.songs.values():
        off = np.asarray([static[r] for r in s["roles"]])
        for r, v in zip(s["roles"], off - off.mean(), strict=True):
            centered.setdefault(r, []).append(float(v))
            c = coverage.setdefault(r, {"A": [0, 0], "B": [0, 0]})
            c[s["show"]][0] += 1
            c[s["show"]][1] += len(s["faders"])
    out["centered_taste_db"] = {r: round(float(np.mean(v)), 2) for r, v in sorted(centered.items())}
    out["coverage_songs_hops"] = dict(sorted(coverage.items()))

    def fitted(gains: dict[str, np.ndarray]) -> dict[str, float]:
        """Per role, the median over show A's songs of the engineer's offset (centered)."""
        per_role: dict[str, list[float]] = {}
        for name in shows.of("A"):
            d = song_offsets(shows.songs[name]["faders"], gains[name])
            for r, v in zip(roles_of[name], d - d.mean(), strict=True):
                per_role.setdefault(r, []).append(float(v))
        return {r: float(np.median(v)) for r, v in per_role.items()}

    def plus(gains: dict[str, np.ndarray], table: dict[str, float]) -> Gains:
        return lambda n: gains[n] + np.asarray([table.get(r, 0.0) for r in roles_of[n]])

    def oracle(gains: dict[str, np.ndarray]) -> Gains:
        return lambda n: gains[n] + song_offsets(shows.songs[n]["faders"], gains[n])

    student = load_model(checkpoint_path("alm-mr")).eval()
    keys = {n: running_keys(student, s["audio"]) for n, s in shows.songs.items()}
    memory = np.concatenate([keys[n][0][:, -1] for n in shows.of("A")])  # whole-song keys
    mean_key = memory.mean(axis=0)

    def unit(k: np.ndarray) -> np.ndarray:
        k = k - mean_key
        return np.asarray(k / (np.linalg.norm(k, axis=-1, keepdims=True) + 1e-12))

    def recalled(gains: dict[str, np.ndarray], causal: bool) -> Gains:
        """Each channel's offset: the mean of its NEIGHBOURS nearest show-A channels'."""
        offsets = []
        for name in shows.of("A"):
            d = song_offsets(shows.songs[name]["faders"], gains[name])
            offsets.append(d - d.mean())
        table, known = np.concatenate(offsets), unit(memory)

        def of(n: str) -> np.ndarray:
            k, played = keys[n]
            k = k if causal else k[:, -1:].repeat(k.shape[1], axis=1)
            near = np.argsort(-(unit(k) @ known.T), axis=-1)[..., :NEIGHBOURS]  # (C, F, k)
            off = (table[near].mean(axis=-1) * played).T  # (F, C): frame t's key, gain t
            g = gains[n].copy()
            m = min(len(g), len(off))
            g[:m] += off[:m]
            return g

        return of

    fit = fitted(base)
    near = "nearest show-A channels by sound"
    out["fitted_role_offsets_db"] = {r: round(v, 2) for r, v in sorted(fit.items())}
    auto = {**shows.stream("autofader", "A"), **shows.stream("autofader", "B")}
    mean = {n: 0.5 * (base[n] + auto[n]) for n in base}
    variants: dict[str, Gains] = {
        "base": lambda n: base[n],
        "engineer's own faders (the metric's floor)": lambda n: shows.songs[n]["faders"],
        "base + the taste's exact static offsets per role": plus(base, static),
        "base + per-role offsets fitted on show A": plus(base, fit),
        "base + each song's own per-channel offset (oracle)": oracle(base),
        f"base + offsets of the {NEIGHBOURS} {near} (whole-song key)": recalled(base, False),
        f"base + offsets of the {NEIGHBOURS} {near} (key so far)": recalled(base, True),
        "auto-fader": lambda n: auto[n],
        "auto-fader + per-role offsets fitted on show A": plus(auto, fitted(auto)),
        "auto-fader + each song's own per-channel offset (oracle)": oracle(auto),
        "mean of base and auto-fader + per-role offsets fitted on show A": plus(mean, fitted(mean)),
    }
    if args.learned:
        learned = shows.stream(str(args.learned), "B")
        variants["learned"] = lambda n: learned[n]
        moved: dict[str, list[float]] = {}
        for name in shows.of("B"):
            d = np.median(learned[name] - base[name], axis=0)
            for r, v in zip(roles_of[name], d - d.mean(), strict=True):
                moved.setdefault(r, []).append(float(v))
        out["learned_minus_base_db"] = {
            r: [round(float(np.median(v)), 2), round(float(np.std(v)), 2)]
            for r, v in sorted(moved.items())
        }
    out["balance_show_b"] = {k: shows.balance(g) for k, g in variants.items()}
    RESULTS.with_suffix(".json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    write_markdown(out)
    return 0


def write_markdown(out: dict[str, Any]) -> None:
    bal = out["balance_show_b"]
    roles = sorted(next(iter(bal.values()))["roles"])
    base = bal["base"]["median"]
    lines = [
        "# Learn mode: why show B falls short (no training)",
        "",
        "`benchmarks/learn_taste_why.py` on the shows `benchmarks/learn_taste.py --reuse` "
        "measures (base: the shipped alm-mr, sha256 " + out["base_sha256"][:12] + "). "
        "Balance on show B against the engineer's mix; per role the median "
        "|error| and the mean signed error (dB).",
        "",
        "| gains | median | fall | p90 | " + " | ".join(roles) + " |",
        "|---|---:|---:|---:|" + "---|" * len(roles),
    ]
    for k, v in bal.items():
        cells = " | ".join(
            "{:.2f} ({:+.2f})".format(*v["roles"].get(r, [np.nan, np.nan])) for r in roles
        )
        lines.append(
            f"| {k} | {v['median']:.2f} | {100 * (base - v['median']) / base:.0f} % "
            f"| {v['p90']:.2f} | {cells} |"
        )
    lines += [
        "",
        f"Taste offsets against the rules table (raw): "
        f"{out['static_offsets_db']}; centered "
        f"per song as the metric sees them (mean): {out['centered_taste_db']}.",
        "",
        f"Per-role offsets of the engineer against the base fitted on show A (centered): "
        f"{out['fitted_role_offsets_db']}.",
        "",
        f"Songs and hops per role (show A, show B): {out['coverage_songs_hops']}.",
    ]
    if "learned_minus_base_db" in out:
        lines += [
            "",
            "What the learned model moved against the base on show B, per role "
            "(median, sd over songs; centered per song): "
            f"{out['learned_minus_base_db']}.",
        ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    sys.exit(main())
