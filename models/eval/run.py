"""`ailive eval`: every system through the streaming GainSource interface on held-out songs,
at zero latency; writes results.md, results.json, gain plots (PNG) and example mixes (WAV)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from models.data.store import SongData
from models.eval import metrics as m
from models.eval.balance import BalanceTruth, TargetLevels, balance_errors, target_levels
from models.eval.balance_oracle import balance_oracle
from models.eval.oracles import slew_oracle, static_oracle
from models.eval.report import plot_gains, report_markdown, summarise
from models.eval.systems import make_system, stream_gains
from models.eval.taste import TASTE_ROWS, taste_gains
from models.gainsource import GainSource, tell_roles
from models.train.losses import FLOOR_DBFS

ORACLES = ("oracle", "static-oracle", "slew-oracle")
"""The per-frame oracle (the data engine's), the static and the slew-limited one (oracles.py):
the ceilings on MR-STFT, and the sanity check's judges."""
CEILINGS = (*ORACLES, "balance-oracle", *TASTE_ROWS)
"""Every oracle; the balance oracle (balance_oracle.py) is a ceiling for the balance columns
only, and the taste rows (taste.py) say what can be learned at all: they judge no song."""
KNOWN_SYSTEMS = (
    "alm-mr", "alm-sr", "dmc-og", "dmc-b-0l", "raw", "gainsharing", "autofader", *CEILINGS,
)  # fmt: skip
NOT_A_GAIN_MIX = "not a gain mix of its channels"


class EvalError(ValueError):
    """An evaluation that cannot run: no songs, an unknown system, a missing checkpoint."""


@dataclass
class SongTruth:
    """What the metrics need from one held-out song (None where the folder does not know)."""

    name: str
    channels: np.ndarray  # (C, n)
    target: np.ndarray  # (n,)
    names: list[str]
    hop: int
    sample_rate: int
    oracle_db: np.ndarray | None  # (frames, C) the data engine's per-frame oracle
    oracle_static_db: np.ndarray | None  # (C,) its least-squares static gains
    balance: BalanceTruth | None = None
    levels: TargetLevels | None = None
    target_lufs: float = float("nan")
    taste: dict[str, np.ndarray] = field(default_factory=dict)
    """The taste rows of a synthetic song (taste.py), by name."""
    roles: list[str] = field(default_factory=list)
    """Each channel's role (song.json): what an engineer names it, for a network that reads it."""
    spectra: m.TargetSpectra = field(init=False)

    def __post_init__(self) -> None:
        self.spectra = m.TargetSpectra(self.target, self.sample_rate)


def find_songs(data: Path, split: str) -> list[Path]:
    """Song folders under DIR/split (or DIR): our format or MedleyDB song folders; DIR itself
    when it is one song."""
    base = data / split if (data / split).is_dir() else data
    if not base.is_dir():
        raise EvalError(f"{data}: no such folder")

    def is_song(p: Path) -> bool:
        return (p / "channels").is_dir() or (p / f"{p.name}_METADATA.yaml").is_file()

    if is_song(base):
        return [base]
    return sorted(p for p in base.iterdir() if p.is_dir() and is_song(p))


def balance_truth(data: SongData, folder: Path | None = None) -> BalanceTruth | None:
    """The song's known sources (module docstring of models.eval.balance); None when the song
    does not know them (an imported folder without stems: its target gains are a guess)."""
    from models.data.loaders import ImportedSong, read_stems
    from models.data.targets import gain_curve

    song = data.song
    stems = data.stems if isinstance(data, ImportedSong) else None
    if stems is None and folder is not None:
        stems = read_stems(folder, song.audio.shape[1])
    if stems is not None:
        images = data.images()  # (C, S, n): each RAW track's image in each channel
        contributions = np.stack([images[:, members].sum(axis=1) for members in stems.members],
                                 axis=1)  # fmt: skip
        return BalanceTruth(stems.names, stems.roles, contributions, stems.audio)
    if song.meta.extra.get("target_gains_of") != "clean" or data.target_gains_db is None:
        return None
    clean = data.clean()
    target = (clean * gain_curve(data.target_gains_db, clean.shape[1], data.hop)).astype(np.float32)
    roles = [c.role for c in song.meta.channels]
    return BalanceTruth(song.names, roles, data.images(), target)


def read_truth(folder: Path, taste: bool = True) -> SongTruth:
    """What the metrics need from one song; taste=False: without the taste rows (taste.py),
    whose gains cost a stage simulation and two target computations per song."""
    from models.data.loaders import load_any
    from models.song import SongError

    try:
        data = load_any(folder)
        song = data.song
        if song.target_mix is None:
            raise EvalError(f"{folder}: no target mix")
        balance = balance_truth(data, folder)
    except SongError as exc:
        raise EvalError(str(exc)) from exc
    truth = SongTruth(folder.name, song.audio, song.target_mix, song.names, data.hop,
                      song.sample_rate, data.oracle_gains_db, data.oracle_static_db,
                      balance)  # fmt: skip
    if balance is not None:
        truth.levels = target_levels(balance, song.sample_rate)
    if taste:
        truth.taste = taste_gains(data)
    truth.target_lufs = m.loudness_lufs(song.target_mix, song.sample_rate)
    truth.roles = [c.role for c in song.meta.channels]
    return truth


def oracle_gains(truth: SongTruth, name: str) -> np.ndarray | None:
    """(frames, C) dB of one of the oracles on this song; None where the song has no oracle."""
    if name == "balance-oracle":
        if truth.balance is None or truth.levels is None:
            return None
        c_count, frames = truth.channels.shape[0], truth.channels.shape[1] // truth.hop
        start = np.zeros(c_count) if truth.oracle_static_db is None else truth.oracle_static_db
        gains = balance_oracle(truth.balance, truth.levels, truth.sample_rate, start)
        return np.tile(gains, (frames, 1))
    if name in TASTE_ROWS:
        return truth.taste.get(name)
    if truth.oracle_db is None:
        return None
    if name == "oracle":
        return truth.oracle_db
    frames = truth.oracle_db.shape[0]
    if name == "static-oracle":
        gains = static_oracle(truth.channels, truth.target, truth.sample_rate,
                              truth.oracle_static_db)  # fmt: skip
        return np.tile(gains, (frames, 1))
    return slew_oracle(truth.channels, truth.target, truth.hop, truth.sample_rate,
                       truth.oracle_db)  # fmt: skip


def score(truth: SongTruth, predicted: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of one system on one song from its (frames, C) predictions; also its mix."""
    n, rate = truth.channels.shape[1], truth.sample_rate
    curve = m.gain_curve(predicted, truth.hop, n)
    mix = m.mix_with(truth.channels, curve)
    per_s, step = m.smoothness(predicted, truth.hop / rate)
    spectral = truth.spectra.scores(mix, FLOOR_DBFS)
    match = spectral.pop("match_gain")
    row: dict[str, Any] = {
        **spectral,
        "match_gain_db": round(20 * float(np.log10(max(match, 1e-10))), 2),
        "lufs_diff": _finite(m.loudness_lufs(mix, rate) - truth.target_lufs),
        "change_db_per_s": per_s,
        "largest_step_db": step,
        "clipping": m.clipping_share(mix),
        "gain_error_db": None,
        "balance_db": None,
    }
    if truth.oracle_db is not None:
        row["gain_error_db"] = m.gain_error_db(m.applied_db(predicted), truth.oracle_db)
    if truth.balance is not None and truth.levels is not None:
        errs = balance_errors(truth.balance, truth.levels, curve, rate)
        row["balance_db"] = [None if not np.isfinite(e) else round(float(e), 3) for e in errs]
        row["balance_roles"] = truth.balance.roles
    return row, mix


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def sanity_flag(rows: list[dict[str, Any]], raw_matched: float) -> str | None:
    """NOT_A_GAIN_MIX (naming the oracles) when an oracle scores worse than RAW on level-matched
    MR-STFT: no gain mix of these channels reaches this target, so no system is judged on it."""
    worse = [r["system"] for r in rows if r["system"] in ORACLES
             and r["mrstft_matched"] > raw_matched]  # fmt: skip
    if not worse:
        return None
    return f"{NOT_A_GAIN_MIX}: {', '.join(worse)} worse than RAW"


def _make_sources(systems: list[str], gate: bool = True) -> dict[str, GainSource | None]:
    sources: dict[str, GainSource | None] = {}
    for name in systems:
        if name in CEILINGS:
            continue
        try:
            sources[name] = make_system(name, None, gate)
        except (ValueError, FileNotFoundError) as exc:
            raise EvalError(f"system {name}: {exc}") from exc
    return sources


def eval_song(
    folder: Path,
    systems: list[str],
    sources: dict[str, GainSource | None],
    out: Path,
    example: bool,
    roles: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    """Every system on one song: its rows (flagged when an oracle is worse than RAW) and the
    flag; with example=True also its mixes (WAV) and gain plot. roles: a system that reads
    channel roles is told the song's (as an engineer names the channels); False: none."""
    truth = read_truth(folder, taste=any(name in TASTE_ROWS for name in systems))
    trajectories: dict[str, np.ndarray] = {}
    rows: list[dict[str, Any]] = []
    raw_matched: float | None = None
    for name in systems:
        if name in CEILINGS:
            gains = oracle_gains(truth, name)
            source = None if gains is None else make_system("oracle", gains)
        else:
            source = sources[name]
        if source is None:
            continue
        tell_roles(source, truth.roles if roles else None)
        predicted = stream_gains(source, truth.channels, truth.hop, truth.sample_rate)
        row, mix = score(truth, predicted)
        rows.append({"song": truth.name, "system": name, **row})
        if name == "raw":
            raw_matched = row["mrstft_matched"]
        trajectories[name] = m.applied_db(predicted)
        if example:
            _write_wav(out / "mixes" / truth.name / f"{name}.wav", mix, truth.sample_rate)
    if raw_matched is None:
        raw = truth.channels.astype(np.float64).sum(axis=0)
        raw_matched = truth.spectra.scores(raw, FLOOR_DBFS)["mrstft_matched"]
    flag = sanity_flag(rows, raw_matched)
    for row in rows:
        row["flag"] = flag
    if example:
        _write_wav(out / "mixes" / truth.name / "target.wav", truth.target, truth.sample_rate)
        plot_gains(truth.name, truth.names, trajectories, truth.hop / truth.sample_rate,
                   out / "plots" / f"{truth.name}.png")  # fmt: skip
    return rows, flag


_WORKER: dict[str, Any] = {}


def _worker_init(systems: list[str], gate: bool) -> None:
    from bridge.config import TORCH_THREADS

    torch.set_num_threads(TORCH_THREADS)
    _WORKER["sources"] = _make_sources(systems, gate)


def _worker_song(
    job: tuple[Path, list[str], Path, bool, bool],
) -> tuple[list[dict[str, Any]], str | None]:
    folder, systems, out, example, roles = job
    return eval_song(folder, systems, _WORKER["sources"], out, example, roles)


def evaluate(
    data: Path,
    systems: list[str],
    out: Path,
    split: str = "test",
    examples: int = 2,
    max_songs: int = 0,
    workers: int = 1,
    gate: bool = True,
    roles: bool = True,
) -> dict[str, Any]:
    """Evaluates `systems` on the songs of DIR/split, in `workers` processes (one torch thread
    each when more than one); returns {"summary", "rows", "flagged", "markdown", ...}.
    gate: play the systems through the activity gate, as the engine does (systems.GatedGains);
    False: the bare gain sources. roles: tell a network that reads channel roles each song's
    (False: every channel unnamed)."""
    unknown = [s for s in systems if s not in KNOWN_SYSTEMS]
    from models.gainsource import GAIN_SOURCES, is_gain_source

    unknown = [s for s in unknown if not is_gain_source(s)]
    if unknown:
        raise EvalError(f"unknown system(s) {', '.join(unknown)}; choose from "
                        f"{', '.join(sorted({*KNOWN_SYSTEMS, *GAIN_SOURCES}))}")  # fmt: skip
    folders = find_songs(data, split)[: max_songs or None]
    if not folders:
        raise EvalError(f"{data}: no song folders (song.json + channels/, or MedleyDB) found")
    sources = _make_sources(systems, gate)  # checks every system before any song is read
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    flags: dict[str, str] = {}
    t0 = time.perf_counter()
    jobs = [(folder, systems, out, i < examples, roles) for i, folder in enumerate(folders)]
    from bridge.progress import Progress

    progress = Progress(len(folders), "eval", unit=" songs", decimals=0, every_s=0.0)

    def done(i: int, song_rows: list[dict[str, Any]], flag: str | None) -> None:
        name = jobs[i][0].name
        if flag:
            flags[name] = flag
            print(f"eval: {name} FLAGGED, {flag}: left out of the averages",
                  file=sys.stderr, flush=True)  # fmt: skip
        rows.extend(song_rows)
        progress.label = f"eval {name}"
        progress.update(i + 1)

    if workers <= 1 or len(folders) == 1:
        for i, job in enumerate(jobs):
            done(i, *eval_song(job[0], systems, sources, out, job[3], roles))
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(folders)), _worker_init, (systems, gate)) as pool:
            for i, outcome in enumerate(pool.imap(_worker_song, jobs)):
                done(i, *outcome)
    progress.done()
    rows.sort(key=lambda r: (r["song"], systems.index(r["system"])))
    summary = summarise(rows, systems)
    songs = sorted({r["song"] for r in rows})
    seconds = round(time.perf_counter() - t0, 1)
    played = "through the activity gate" if gate else "bare gain sources, no activity gate"
    played += "" if roles else ", no channel roles"
    text = (
        f"# Evaluation on {data} ({split}: {len(songs)} songs, "
        f"{len(songs) - len(flags)} averaged; {seconds:g} s with {max(workers, 1)} "
        f"worker(s); systems {played})\n\n" + report_markdown(summary, flags)
    )
    (out / "results.md").write_text(text)
    result = {"data": str(data), "split": split, "songs": songs, "systems": systems,
              "gate": gate, "roles": roles, "flagged": flags, "summary": summary, "rows": rows,
              "seconds": seconds}  # fmt: skip
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    return {**result, "markdown": text}


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """A float WAV (no clipping, no normalisation: what the live mix carries)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio, dtype=np.float32), rate, subtype="FLOAT")
