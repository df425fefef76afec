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

from models.data.render import SAMPLE_RATE
from models.data.stage import StageConfig
from models.data.store import SongData, read_song_data
from models.data.synth import build_song_data, pcm16, prepare_sources
from models.data.targets import HOP_SECONDS, level_shift_db
from models.song import ChannelInfo, Song, SongError, SongMeta

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff")
MIX_NAMES = re.compile(r"(^|[_\-\s.])(mix|mixdown|reference|master)([_\-\s.]|$)", re.IGNORECASE)

# Instrument words (MedleyDB labels, or words in file names) -> mixing role; first match wins.
ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kick", ("kick", "bass drum", "bd")),
    ("snare", ("snare", "sn")),
    ("drums", ("drum", "hat", "hh", "cymbal", "overhead", "oh", "tom", "ride", "percussion",
               "tambourine", "shaker", "conga", "bongo", "timpani", "clap")),
    ("bass", ("bass",)),
    ("lead", ("singer", "vocal", "vox", "voice", "rapper", "speaker", "choir", "vocalists")),
    ("rhythm", ("guitar", "gtr", "banjo", "mandolin", "ukulele", "lap steel")),
    ("keys", ("piano", "organ", "keys", "keyboard", "rhodes", "wurli", "harpsichord",
              "accordion", "clav")),
    ("pad", ("synth", "pad", "sampler", "fx", "processed")),
    ("strings", ("violin", "viola", "cello", "string")),
    ("brass", ("trumpet", "trombone", "horn", "brass", "tuba")),
    ("solo", ("sax", "flute", "clarinet", "harmonica", "oboe", "bassoon")),
)  # fmt: skip


def role_of(label: str) -> str:
    """The mixing role of an instrument label or file name ("other" when nothing matches)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", label)  # SnareTop -> Snare Top
    words = re.sub(r"[^a-z]+", " ", spaced.lower()).split()
    text = " " + " ".join(words) + " "
    for role, keys in ROLE_WORDS:
        if any(f" {k}" in text for k in keys):
            return role
    return "other"


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


def song_from_tracks(
    tracks: list[np.ndarray],
    names: list[str],
    instruments: list[str],
    target: np.ndarray,
    opts: ImportOptions,
    extra: Mapping[str, object],
) -> SongData:
    """Tracks (each (n,)) and a reference mix -> SongData, with simulated bleed or as they are."""
    if not tracks:
        raise SongError("no tracks to import")
    audio = _stack([*tracks, target])
    if opts.max_seconds is not None:
        audio = audio[:, : round(opts.max_seconds * opts.sample_rate)]
    mix = audio[-1]
    peak = float(np.max(np.abs(mix)))
    if peak <= 0:
        raise SongError("the reference mix is silent")
    mix = pcm16(mix * 10 ** (-1.0 / 20) / peak)
    roles = _roles_with_one_lead(instruments)
    if opts.simulate_bleed:
        sources = prepare_sources(list(audio[:-1]))
        data, _, _ = build_song_data(
            sources, roles, names, instruments, [], opts.seed, opts.stage, target=mix,
            sample_rate=opts.sample_rate,
        )  # fmt: skip
        data.song.meta.extra.update(extra)
        return data
    from models.data.oracle import oracle_gains, oracle_report

    channels = pcm16(audio[:-1])
    raw_dbfs = float(20 * np.log10(np.sqrt(np.mean(channels.sum(axis=0, dtype=np.float64) ** 2))))
    mix = pcm16(mix * 10 ** (level_shift_db(mix, raw_dbfs) / 20))
    hop = round(HOP_SECONDS * opts.sample_rate)
    oracle = oracle_gains(channels, mix, hop)
    meta = SongMeta(
        sample_rate=opts.sample_rate,
        channels=[ChannelInfo(n, i, r) for n, i, r in zip(names, instruments, roles, strict=True)],
        extra={
            "format": "ailive-data/1",
            "hop_samples": hop,
            "oracle": {
                "static_gains_db": [round(float(v), 2) for v in oracle.static_db],
                "snr_db": oracle_report(channels, mix, oracle, hop),
            },
            **extra,
        },
    )
    song = Song(meta=meta, audio=channels, target_mix=mix)
    return SongData(song, oracle_gains_db=oracle.frame_db, oracle_static_db=oracle.static_db)


def load_medleydb(song_dir: str | Path, opts: ImportOptions | None = None) -> SongData:
    """A MedleyDB song folder: `<Song>_METADATA.yaml`, `<Song>_RAW/`, `<Song>_MIX.wav`.

    The RAW tracks become the sources (in the metadata's stem/raw order), the mono downmix of
    the MIX the target; bleed is simulated on top of the RAW tracks unless opts says not to.
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
    mix_path = folder / str(meta.get("mix_filename") or f"{name}_MIX.wav")
    if not mix_path.is_file():
        raise SongError(f"{folder}: the mix {mix_path.name} is missing")
    tracks, names, labels = [], [], []
    for stem_id in sorted(stems or {}):
        stem = stems[stem_id] or {}
        for raw_id in sorted(stem.get("raw") or {}):
            raw = stem["raw"][raw_id]
            path = raw_dir / str(raw["filename"])
            if not path.is_file():
                raise SongError(f"{meta_path}: lists {path.name}, which is not in {raw_dir}")
            label = str(raw.get("instrument") or stem.get("instrument") or "unknown")
            tracks.append(read_mono(path, opts.sample_rate))
            names.append(f"{label} {stem_id}{raw_id}")
            labels.append(label)
    if not tracks:
        raise SongError(f"{meta_path}: lists no RAW tracks")
    extra = {
        "title": f"{meta.get('artist', '?')} - {meta.get('title', name)}",
        "generator": "models.data.loaders.load_medleydb",
        "corpus": "MedleyDB",
        "genre": meta.get("genre"),
        "has_bleed": meta.get("has_bleed"),
    }
    return song_from_tracks(
        tracks, names, labels, read_mono(mix_path, opts.sample_rate), opts, extra
    )


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
    return song_from_tracks(
        tracks, names, names, read_mono(mix_path, opts.sample_rate), opts, extra
    )


def load_any(folder: str | Path) -> SongData:
    """Our song format, a MedleyDB song folder, or a folder of channel files with a mix."""
    folder = Path(folder)
    if (folder / "channels").is_dir():
        return read_song_data(folder)
    if (folder / f"{folder.name}_METADATA.yaml").is_file():
        return load_medleydb(folder)
    return load_folder(folder)
