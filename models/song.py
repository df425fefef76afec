"""One multitrack song on disk: `channels/NN_name.flac`, `target_mix.flac`, `song.json`.

This is the format the data engine writes and every loader, the demo and `ailive render` read.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SONG_JSON = "song.json"
TARGET_MIX = "target_mix.flac"
CHANNELS_DIR = "channels"
_CHANNEL_FILE = re.compile(r"^(\d{2})_(.+)\.(flac|wav)$")


class SongError(ValueError):
    """A song folder that cannot be read: names the folder and what is wrong."""


@dataclass
class ChannelInfo:
    """One console channel of a song."""

    name: str
    instrument: str = "unknown"
    role: str = "other"
    """Mixing role: kick, snare, drums, bass, rhythm, keys, lead, pad, ..."""


@dataclass
class SongMeta:
    """What `song.json` holds (extra keys are kept in `extra`)."""

    sample_rate: int
    channels: list[ChannelInfo]
    seed: int | None = None
    bleed_matrix_db: list[list[float]] | None = None
    """bleed_matrix_db[m][s]: level of source s in mic m, dB relative to source m in mic m."""
    sources: list[dict[str, Any]] = field(default_factory=list)
    """Provenance and licence of every source used."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SongMeta:
        known = {"sample_rate", "channels", "seed", "bleed_matrix_db", "sources"}
        channels = [ChannelInfo(**c) for c in data["channels"]]
        return cls(
            sample_rate=int(data["sample_rate"]),
            channels=channels,
            seed=data.get("seed"),
            bleed_matrix_db=data.get("bleed_matrix_db"),
            sources=list(data.get("sources", [])),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass
class Song:
    """Audio and metadata of one song. `audio`: (channels, samples) float32."""

    meta: SongMeta
    audio: np.ndarray
    target_mix: np.ndarray | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.meta.channels]

    @property
    def sample_rate(self) -> int:
        return self.meta.sample_rate

    @property
    def seconds(self) -> float:
        return self.audio.shape[1] / self.meta.sample_rate


def channel_files(folder: Path) -> list[Path]:
    """The channel files of a song folder, in channel order."""
    chan_dir = folder / CHANNELS_DIR
    if not chan_dir.is_dir():
        raise SongError(f"{folder}: no '{CHANNELS_DIR}/' folder of NN_name.flac files")
    files = sorted(p for p in chan_dir.iterdir() if _CHANNEL_FILE.match(p.name))
    if not files:
        raise SongError(f"{chan_dir}: no channel files named NN_name.flac or NN_name.wav")
    return files


def load_song(folder: str | Path, *, with_target: bool = True) -> Song:
    """Read a song folder; every channel must share one sample rate and length."""
    folder = Path(folder)
    meta_path = folder / SONG_JSON
    files = channel_files(folder)
    meta: SongMeta | None = None
    if meta_path.exists():
        try:
            meta = SongMeta.from_json(json.loads(meta_path.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SongError(f"{meta_path}: unreadable song metadata ({exc})") from exc
    tracks: list[np.ndarray] = []
    rate: int | None = None
    for path in files:
        try:
            data, sr = sf.read(path, dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise SongError(f"{path}: cannot decode audio ({exc})") from exc
        if data.shape[1] != 1:
            raise SongError(f"{path}: {data.shape[1]} channels; each channel file must be mono")
        if rate is not None and sr != rate:
            raise SongError(f"{path}: sample rate {sr} Hz differs from the others ({rate} Hz)")
        rate = sr
        tracks.append(data[:, 0])
    assert rate is not None
    length = min(len(t) for t in tracks)
    if max(len(t) for t in tracks) - length > rate // 100:
        raise SongError(f"{folder}: channel files differ in length by more than 10 ms")
    audio = np.stack([t[:length] for t in tracks])
    if meta is None:
        names = [str(_CHANNEL_FILE.match(p.name).group(2)) for p in files]  # type: ignore[union-attr]
        meta = SongMeta(sample_rate=rate, channels=[ChannelInfo(name=n) for n in names])
    if meta.sample_rate != rate:
        raise SongError(f"{meta_path}: says {meta.sample_rate} Hz but the audio is {rate} Hz")
    if len(meta.channels) != len(files):
        raise SongError(
            f"{meta_path}: lists {len(meta.channels)} channels but {len(files)} files exist"
        )
    target = None
    target_path = folder / TARGET_MIX
    if with_target and target_path.exists():
        try:
            mix, sr = sf.read(target_path, dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise SongError(f"{target_path}: cannot decode the target mix ({exc})") from exc
        if sr != rate:
            raise SongError(
                f"{target_path}: sample rate {sr} Hz differs from the channels ({rate} Hz)"
            )
        target = mix.mean(axis=1)[:length]
    return Song(meta=meta, audio=audio, target_mix=target)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "ch"


def save_song(song: Song, folder: str | Path, *, subtype: str = "PCM_16") -> Path:
    """Write a song folder (FLAC channels, target mix, song.json)."""
    folder = Path(folder)
    chan_dir = folder / CHANNELS_DIR
    chan_dir.mkdir(parents=True, exist_ok=True)
    for old in chan_dir.glob("*.flac"):
        old.unlink()
    for i, (info, track) in enumerate(zip(song.meta.channels, song.audio, strict=True)):
        path = chan_dir / f"{i + 1:02d}_{safe_name(info.name)}.flac"
        sf.write(path, np.clip(track, -1.0, 1.0), song.sample_rate, subtype=subtype)
    if song.target_mix is not None:
        sf.write(
            folder / TARGET_MIX,
            np.clip(song.target_mix, -1.0, 1.0),
            song.sample_rate,
            subtype=subtype,
        )
    (folder / SONG_JSON).write_text(json.dumps(song.meta.to_json(), indent=2) + "\n")
    return folder
