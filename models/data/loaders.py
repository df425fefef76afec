"""Real multitracks into the data engine's song format: MedleyDB layout, and any folder of
channel files with a reference mix. Bleed is simulated on top of clean tracks, as the paper
does with MedleyDB's RAW tracks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from models.alm.roles import role_from_words
from models.data.acoustics import active_rms, db
from models.data.render import SAMPLE_RATE
from models.data.stage import NO_BLEED_DB, StageConfig, StagePlan
from models.data.store import SongData, read_song_data, write_song_data
from models.data.synth import build_song_data, pcm16, prepare_sources
from models.data.targets import HOP_SECONDS, level_shift_db
from models.song import SONG_JSON, ChannelInfo, Song, SongError, SongMeta, safe_name

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff")
STEMS_DIR = "stems"
MAX_LAG_S = 0.1
"""Largest delay between a RAW track and its stem that the alignment searches."""
MIX_NAMES = re.compile(r"(^|[_\-\s.])(mix|mixdown|reference|master)([_\-\s.]|$)", re.IGNORECASE)


def role_of(label: str) -> str:
    """The mixing role of an instrument label or file name ("other" when nothing matches)."""
    return role_from_words(label) or "other"


def _roles_with_one_lead(labels: list[str]) -> list[str]:
    roles = [role_of(lab) for lab in labels]
    leads = [i for i, r in enumerate(roles) if r == "lead"]
    for i in leads[1:]:
        roles[i] = "backing"
    return roles


def read_mono(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """An audio file as mono float32 at sample_rate (channels averaged, resampled if needed)."""
    from scipy.signal import resample_poly

    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise SongError(f"{path}: cannot decode audio ({exc})") from exc
    mono = data.mean(axis=1)
    if rate != sample_rate:
        g = gcd(rate, sample_rate)
        mono = resample_poly(mono, sample_rate // g, rate // g).astype(np.float32)
    return mono


def _stack(tracks: list[np.ndarray]) -> np.ndarray:
    n = min(len(t) for t in tracks)
    return np.stack([t[:n] for t in tracks])


@dataclass(frozen=True)
class ImportOptions:
    simulate_bleed: bool = True
    """Place the tracks on a random stage (they are clean); False: use them as channels."""
    seed: int = 0
    stage: StageConfig = field(default_factory=StageConfig)
    max_seconds: float | None = None
    sample_rate: int = SAMPLE_RATE
    align: bool = True
    """MedleyDB: align each RAW track to its stem (False: take the RAW tracks as they are)."""


@dataclass
class Stems:
    """The stems a reference mix was made of (MedleyDB): the balance metric's known sources."""

    names: list[str]
    instruments: list[str]
    roles: list[str]
    members: list[list[int]]
    """The source (RAW track) indices of each stem."""
    audio: np.ndarray
    """(stems, n) float32, at the stored target mix's scale."""

    def to_json(self) -> list[dict[str, object]]:
        rows = zip(self.names, self.instruments, self.roles, self.members, strict=True)
        return [{"name": n, "instrument": i, "role": r, "sources": m} for n, i, r, m in rows]


@dataclass
class ImportedSong(SongData):
    """An imported song, with the stems its reference mix was made of when known."""

    stems: Stems | None = None


@dataclass(frozen=True)
class Alignment:
    """How a RAW track was moved onto its stem: delay (samples: the RAW track was this late),
    polarity (+1/-1) and the correlation coefficient at that delay."""

    delay_samples: int
    polarity: int
    correlation: float


def align_to(
    track: np.ndarray, reference: np.ndarray, max_lag: int
) -> tuple[np.ndarray, Alignment]:
    """Delay and polarity that best match `track` to `reference` (largest |cross-correlation|
    within +-max_lag samples) and the track moved by them."""
    from scipy.signal import correlate

    n = min(len(track), len(reference))
    x, y = np.asarray(track[:n], np.float64), np.asarray(reference[:n], np.float64)
    full = correlate(y, x, mode="full", method="fft")  # full[k]: sum y[t + k - n + 1] x[t]
    lags = np.arange(-min(max_lag, n - 1), min(max_lag, n - 1) + 1)
    values = full[lags + n - 1]
    best = int(np.argmax(np.abs(values)))
    lag = int(lags[best])
    norm = float(np.sqrt(np.sum(x * x) * np.sum(y * y))) or 1.0
    corr = float(values[best]) / norm
    polarity = -1 if corr < 0 else 1
    delay = -lag  # the track is `delay` samples late: shift it earlier
    moved = np.zeros(len(track), dtype=np.float32)
    if delay >= 0:
        moved[: len(track) - delay] = track[delay:]
    else:
        moved[-delay:] = track[: len(track) + delay]
    return polarity * moved, Alignment(delay, polarity, round(corr, 4))


def _staged(sources: np.ndarray, seed: int, cfg: StageConfig) -> tuple[np.ndarray, StagePlan]:
    """Channels without bleed, gain staged as at soundcheck exactly as the simulated stage does
    (models/data/stage.py): each channel to cfg.staging_dbfs active RMS, the random post trim,
    one input gain putting the loudest peak in cfg.peak_dbfs. The plan has only DI channels
    (no room), so SongData.images() and clean() work as for a staged song."""
    rng = np.random.default_rng([seed, 20])
    n = sources.shape[0]
    staging = [round(cfg.staging_dbfs - float(db(active_rms(x))), 3) if np.any(x) else 0.0
               for x in sources]  # fmt: skip
    plan = StagePlan(
        room_m=[0.0, 0.0, 0.0], rt60_s=0.0, ism_order=0, sources_m=[None] * n, mics_m=[None] * n,
        di=[True] * n, pre_trims_db=[0.0] * n,
        post_trims_db=np.round(rng.uniform(-cfg.post_trim_db, cfg.post_trim_db, n), 2).tolist(),
        noise_dbfs=[NO_BLEED_DB] * n, staging_db=staging,
    )  # fmt: skip
    trims = np.asarray(plan.post_trims_db) + np.asarray(staging)
    channels = sources * (10 ** (trims / 20)).astype(np.float32)[:, None]
    peak = float(np.max(np.abs(channels))) or 1.0
    plan.input_gain_db = round(float(rng.uniform(*cfg.peak_dbfs)) - float(db(peak)), 3)
    return pcm16(channels * np.float32(10 ** (plan.input_gain_db / 20))), plan


def song_from_tracks(
    tracks: list[np.ndarray],
    names: list[str],
    instruments: list[str],
    target: np.ndarray,
    opts: ImportOptions,
    extra: Mapping[str, object],
    stems: list[np.ndarray] | None = None,
    as_recorded: bool = False,
) -> SongData:
    """Tracks (each (n,)) and a reference mix -> SongData, with simulated bleed or without
    (the same soundcheck gain staging either way); `stems` (each (n,)), when given, are kept
    at the stored target's scale (ImportedSong.stems carries them, the caller names them)."""
    if not tracks:
        raise SongError("no tracks to import")
    audio = _stack([*tracks, target, *(stems or [])])
    if opts.max_seconds is not None:
        audio = audio[:, : round(opts.max_seconds * opts.sample_rate)]
    k = len(tracks)
    mix = audio[k]
    peak = float(np.max(np.abs(mix)))
    if peak <= 0:
        raise SongError("the reference mix is silent")
    roles = _roles_with_one_lead(instruments)
    sources = prepare_sources(list(audio[:k]))
    scaled = pcm16(mix * 10 ** (-1.0 / 20) / peak)
    if opts.simulate_bleed:
        data, _, _ = build_song_data(
            sources, roles, names, instruments, [], opts.seed, opts.stage, target=scaled,
            sample_rate=opts.sample_rate,
        )  # fmt: skip
        data.song.meta.extra.update(extra)
    else:
        recorded = pcm16(audio[:k]) if as_recorded else None
        data = _unbled_song(sources, scaled, names, instruments, roles, opts, extra, recorded)
    assert data.song.target_mix is not None
    scale = float(np.dot(data.song.target_mix, mix) / max(float(np.dot(mix, mix)), 1e-30))
    out = ImportedSong(**{f: getattr(data, f) for f in SongData.__dataclass_fields__})
    if stems:
        out.stems = Stems([], [], [], [], (audio[k + 1 :] * scale).astype(np.float32))
    return out


ESTIMATED = "estimated from the reference mix (least squares on the sources)"


def _unbled_song(
    sources: np.ndarray,
    mix: np.ndarray,
    names: list[str],
    instruments: list[str],
    roles: list[str],
    opts: ImportOptions,
    extra: Mapping[str, object],
    recorded: np.ndarray | None = None,
) -> SongData:
    """Clean tracks staged as at soundcheck (all-DI stage); `recorded`: channels with their
    real bleed, used as they are (a folder import: no known sources, nothing staged)."""
    from models.data.oracle import oracle_gains, oracle_report

    if recorded is not None:
        channels, plan = recorded, None
    else:
        channels, plan = _staged(sources, opts.seed, opts.stage)
    raw_dbfs = float(20 * np.log10(np.sqrt(np.mean(channels.sum(axis=0, dtype=np.float64) ** 2))))
    mix = pcm16(mix * 10 ** (level_shift_db(mix, raw_dbfs) / 20))
    hop = round(HOP_SECONDS * opts.sample_rate)
    oracle = oracle_gains(channels, mix, hop)
    n = len(names)
    staged: dict[str, object] = {}
    if plan is not None:
        staged = {
            "di_channels": list(names),
            "stage": {**plan.to_json(), "bleed": "none (--no-bleed): soundcheck staging only"},
            "target_rules": {"kind": ESTIMATED},
            "target_gains_of": "sources",
        }
    meta = SongMeta(
        sample_rate=opts.sample_rate,
        channels=[ChannelInfo(n, i, r) for n, i, r in zip(names, instruments, roles, strict=True)],
        seed=opts.seed if plan is not None else None,
        bleed_matrix_db=None
        if plan is None
        else [[0.0 if m == s else NO_BLEED_DB for s in range(n)] for m in range(n)],
        extra={
            "format": "ailive-data/1",
            "hop_samples": hop,
            **staged,
            "oracle": {
                "static_gains_db": [round(float(v), 2) for v in oracle.static_db],
                "snr_db": oracle_report(channels, mix, oracle, hop),
            },
            **extra,
        },
    )
    song = Song(meta=meta, audio=channels, target_mix=mix)
    if plan is None:
        return SongData(song, oracle_gains_db=oracle.frame_db, oracle_static_db=oracle.static_db)
    target_gains = oracle_gains(sources, mix, hop).frame_db
    return SongData(song, sources, target_gains, oracle.frame_db, oracle.static_db,
                    np.zeros((0, 0, 1), np.float16))  # fmt: skip


def load_medleydb(song_dir: str | Path, opts: ImportOptions | None = None) -> ImportedSong:
    """A MedleyDB song folder: `<Song>_METADATA.yaml`, `<Song>_RAW/`, `<Song>_STEMS/`,
    `<Song>_MIX.wav`.

    The RAW tracks become the sources (in the metadata's stem/raw order), each aligned to its
    stem first (delay and polarity by cross-correlation: some RAW tracks are inverted or late
    against the stem that went into the MIX, and no gain undoes that); the mono downmix of the
    MIX is the target and the stems, at its scale, the known sources of the balance metric.
    Bleed is simulated on top of the aligned RAW tracks unless opts says not to. The alignment
    of every track is in song.json `alignment`.
    """
    import yaml

    opts = opts or ImportOptions()
    folder = Path(song_dir)
    name = folder.name
    meta_path = folder / f"{name}_METADATA.yaml"
    if not meta_path.is_file():
        raise SongError(f"{folder}: no {meta_path.name} (is this a MedleyDB song folder?)")
    try:
        meta = yaml.safe_load(meta_path.read_text())
        stems = meta["stems"]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise SongError(f"{meta_path}: unreadable MedleyDB metadata ({exc})") from exc
    raw_dir = folder / str(meta.get("raw_dir") or f"{name}_RAW")
    stem_dir = folder / str(meta.get("stem_dir") or f"{name}_STEMS")
    mix_path = folder / str(meta.get("mix_filename") or f"{name}_MIX.wav")
    if not mix_path.is_file():
        raise SongError(f"{folder}: the mix {mix_path.name} is missing")
    max_lag = round(MAX_LAG_S * opts.sample_rate)
    tracks: list[np.ndarray] = []
    names: list[str] = []
    labels: list[str] = []
    alignment: list[dict[str, object]] = []
    stem_audio: list[np.ndarray] = []
    info = Stems([], [], [], [], np.zeros((0, 0), np.float32))
    for stem_id in sorted(stems or {}):
        stem = stems[stem_id] or {}
        stem_path = stem_dir / str(stem.get("filename") or "")
        reference = read_mono(stem_path, opts.sample_rate) if stem_path.is_file() else None
        members = []
        for raw_id in sorted(stem.get("raw") or {}):
            raw = stem["raw"][raw_id]
            path = raw_dir / str(raw["filename"])
            if not path.is_file():
                raise SongError(f"{meta_path}: lists {path.name}, which is not in {raw_dir}")
            label = str(raw.get("instrument") or stem.get("instrument") or "unknown")
            track = read_mono(path, opts.sample_rate)
            if reference is not None and opts.align:
                track, moved = align_to(track, reference, max_lag)
                alignment.append({"track": f"{label} {stem_id}{raw_id}", "stem": stem_id,
                                  **moved.__dict__})  # fmt: skip
            members.append(len(tracks))
            tracks.append(track)
            names.append(f"{label} {stem_id}{raw_id}")
            labels.append(label)
        if reference is not None and members:
            label = str(stem.get("instrument") or labels[members[0]])
            info.names.append(f"{label} {stem_id}")
            info.instruments.append(label)
            info.members.append(members)
            stem_audio.append(reference)
    if not tracks:
        raise SongError(f"{meta_path}: lists no RAW tracks")
    extra = {
        "title": f"{meta.get('artist', '?')} - {meta.get('title', name)}",
        "generator": "models.data.loaders.load_medleydb",
        "corpus": "MedleyDB",
        "genre": meta.get("genre"),
        "has_bleed": meta.get("has_bleed"),
        "alignment": alignment,
    }
    data = song_from_tracks(tracks, names, labels, read_mono(mix_path, opts.sample_rate), opts,
                            extra, stem_audio)  # fmt: skip
    assert isinstance(data, ImportedSong)
    if data.stems is not None:
        roles = [c.role for c in data.song.meta.channels]
        info.roles = [roles[m[0]] for m in info.members]
        info.audio = data.stems.audio
        data.stems = info
        data.song.meta.extra["stems"] = info.to_json()
    return data


def alignment_lines(data: SongData) -> list[str]:
    """One line per RAW track an import moved (inverted or delayed), and a summary line."""
    moves = data.song.meta.extra.get("alignment") or []
    if not moves:
        return []
    lines = [f"aligned {m['track']} to its stem: "
             + ("polarity inverted, " if m["polarity"] < 0 else "")
             + f"{m['delay_samples']} samples late, correlation {m['correlation']:+.2f}"
             for m in moves if m["polarity"] < 0 or m["delay_samples"] != 0]  # fmt: skip
    inverted = sum(m["polarity"] < 0 for m in moves)
    delayed = sum(m["delay_samples"] != 0 for m in moves)
    worst = min(abs(m["correlation"]) for m in moves)
    lines.append(f"alignment: {len(moves)} RAW tracks, {inverted} inverted, {delayed} delayed; "
                 f"lowest |correlation| with its stem {worst:.2f}")  # fmt: skip
    return lines


def write_imported(data: SongData, folder: str | Path) -> Path:
    """write_song_data, plus `stems/NN_name.flac` (24-bit) for an ImportedSong with stems."""
    folder = write_song_data(data, folder)
    stems = data.stems if isinstance(data, ImportedSong) else None
    if stems is not None:
        out = folder / STEMS_DIR
        out.mkdir(exist_ok=True)
        for old in out.glob("*.flac"):
            old.unlink()
        for i, (stem_name, x) in enumerate(zip(stems.names, stems.audio, strict=True)):
            sf.write(out / f"{i + 1:02d}_{safe_name(stem_name)}.flac", np.clip(x, -1, 1),
                     data.song.sample_rate, subtype="PCM_24")  # fmt: skip
    return folder


def read_stems(folder: str | Path, length: int) -> Stems | None:
    """The stems of an imported song folder (song.json `stems` + stems/), None without."""
    import json

    folder = Path(folder)
    try:
        listed = json.loads((folder / SONG_JSON).read_text()).get("stems")
    except (OSError, ValueError):
        return None
    files = sorted((folder / STEMS_DIR).glob("*.flac")) if listed else []
    if not listed or len(files) != len(listed):
        return None
    audio = np.zeros((len(files), length), np.float32)
    for i, path in enumerate(files):
        try:
            x, _ = sf.read(path, dtype="float32")
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise SongError(f"{path}: cannot decode audio ({exc})") from exc
        audio[i, : min(length, len(x))] = x[:length]
    return Stems([s["name"] for s in listed], [s["instrument"] for s in listed],
                 [s["role"] for s in listed], [list(s["sources"]) for s in listed],
                 audio)  # fmt: skip


def load_folder(
    folder: str | Path, mix: str | Path | None = None, opts: ImportOptions | None = None
) -> SongData:
    """A folder of channel files (one per channel, sorted by name) plus a reference mix.

    The mix is `mix` if given, else the one file named like mix/mixdown/reference/master.
    Roles are guessed from the file names. By default the channels are used as recorded
    (real bleed); with opts.simulate_bleed they are treated as clean tracks and staged.
    """
    opts = opts or ImportOptions(simulate_bleed=False)
    folder = Path(folder)
    if not folder.is_dir():
        raise SongError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if mix is None:
        mixes = [p for p in files if MIX_NAMES.search(p.stem)]
        if len(mixes) != 1:
            found = ", ".join(p.name for p in mixes) or "none"
            raise SongError(
                f"{folder}: expected one reference mix named like mix.wav (found {found}); "
                "name it with --mix"
            )
        mix_path = mixes[0]
    else:
        mix_path = Path(mix) if Path(mix).is_absolute() else folder / mix
        if not mix_path.is_file():
            raise SongError(f"{mix_path}: the reference mix does not exist")
    channel_paths = [p for p in files if p.resolve() != mix_path.resolve()]
    if not channel_paths:
        raise SongError(f"{folder}: no channel files beside the mix")
    tracks = [read_mono(p, opts.sample_rate) for p in channel_paths]
    names = [re.sub(r"^\d+[_\-\s]*", "", p.stem) or p.stem for p in channel_paths]
    extra = {"title": folder.name, "generator": "models.data.loaders.load_folder",
             "files": [p.name for p in channel_paths], "mix_file": mix_path.name}  # fmt: skip
    mix_audio = read_mono(mix_path, opts.sample_rate)
    return song_from_tracks(tracks, names, names, mix_audio, opts, extra, as_recorded=True)


def load_any(folder: str | Path) -> SongData:
    """Our song format, a MedleyDB song folder, or a folder of channel files with a mix."""
    folder = Path(folder)
    if (folder / "channels").is_dir():
        return read_song_data(folder)
    if (folder / f"{folder.name}_METADATA.yaml").is_file():
        return load_medleydb(folder)
    return load_folder(folder)
