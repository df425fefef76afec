"""A data-engine song on disk: the song format plus dry sources, gains and room responses.

Beside `channels/`, `target_mix.flac` and `song.json` (models/song.py) a song folder holds
`sources/NN_name.flac` (the dry sources the target is made of), `gains.npz` (per-frame target
and oracle gains) and `stage.npz` (the room impulse responses): with these, every source's image
in every channel is recomputed exactly (`SongData.images`); `images/` stores them when asked.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from models.data.stage import StagePlan, channel_images, own_images
from models.song import Song, SongError, load_song, safe_name, save_song

SOURCES_DIR = "sources"
IMAGES_DIR = "images"
GAINS_FILE = "gains.npz"
STAGE_FILE = "stage.npz"
_AUDIO = re.compile(r"^(\d{2})_(.+)\.flac$")


@dataclass
class SongData:
    """A song with everything the data engine knows about it (None where it does not)."""

    song: Song
    sources: np.ndarray | None = None
    """(S, n) float32 dry sources; source s is channel s's own source."""
    target_gains_db: np.ndarray | None = None
    """(frames, S) gains that make the target mix from the sources."""
    oracle_gains_db: np.ndarray | None = None
    """(frames, channels) the best non-negative channel gains (models/data/oracle.py)."""
    oracle_static_db: np.ndarray | None = None
    rirs: np.ndarray | None = None
    """(room mics, room sources, taps) float16."""
    stored_images: np.ndarray | None = None

    @property
    def hop(self) -> int:
        return int(self.song.meta.extra.get("hop_samples", 2400))

    @property
    def plan(self) -> StagePlan | None:
        stage = self.song.meta.extra.get("stage")
        if not isinstance(stage, dict):
            return None
        fields = StagePlan.__dataclass_fields__
        return StagePlan(**{k: v for k, v in stage.items() if k in fields})

    def _stage(self) -> tuple[np.ndarray, StagePlan, np.ndarray]:
        plan = self.plan
        if self.sources is None or self.rirs is None or plan is None:
            raise SongError("this song has no sources/stage data to compute images from")
        return self.sources, plan, self.rirs

    def clean(self) -> np.ndarray:
        """(S, n): each channel's own source without bleed and noise, before the post trim:
        what the target mix is made of (target = sum of clean * target gains)."""
        return own_images(*self._stage())

    def images(self) -> np.ndarray:
        """(channels, S, n): each dry source's image in each console channel, without noise."""
        if self.stored_images is not None:
            return self.stored_images
        return channel_images(*self._stage())


def _write_tracks(
    folder: Path, names: list[str], audio: np.ndarray, rate: int, subtype: str
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.flac"):
        old.unlink()
    for i, (name, track) in enumerate(zip(names, audio, strict=True)):
        sf.write(
            folder / f"{i + 1:02d}_{safe_name(name)}.flac",
            np.clip(track, -1, 1),
            rate,
            subtype=subtype,
        )


def write_song_data(data: SongData, folder: str | Path, *, images: bool = False) -> Path:
    """Write the song folder; with images=True also `images/CC_SS.flac` (24-bit) for every
    non-zero image of source SS in channel CC."""
    folder = Path(folder)
    save_song(data.song, folder)
    rate = data.song.sample_rate
    if data.sources is not None:
        _write_tracks(folder / SOURCES_DIR, data.song.names, data.sources, rate, "PCM_16")
    arrays = {
        "target_gains_db": data.target_gains_db,
        "oracle_gains_db": data.oracle_gains_db,
        "oracle_static_db": data.oracle_static_db,
    }
    present = {k: v for k, v in arrays.items() if v is not None}
    if present:
        np.savez_compressed(folder / GAINS_FILE, **present)  # type: ignore[arg-type]
    if data.rirs is not None:
        np.savez_compressed(folder / STAGE_FILE, rirs=data.rirs.astype(np.float16))
    if images:
        img = data.images()
        out = folder / IMAGES_DIR
        out.mkdir(exist_ok=True)
        for old in out.glob("*.flac"):
            old.unlink()
        for c in range(img.shape[0]):
            for s in range(img.shape[1]):
                if np.any(img[c, s]):
                    sf.write(out / f"{c + 1:02d}_{s + 1:02d}.flac", np.clip(img[c, s], -1, 1), rate,
                             subtype="PCM_24")  # fmt: skip
    return folder


def _read_tracks(folder: Path, count: int, length: int) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if _AUDIO.match(p.name))
    if len(files) != count:
        raise SongError(f"{folder}: {len(files)} source files, expected {count}")
    out = np.zeros((count, length), dtype=np.float32)
    for i, path in enumerate(files):
        try:
            x, _ = sf.read(path, dtype="float32")
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise SongError(f"{path}: cannot decode audio ({exc})") from exc
        out[i, : min(length, len(x))] = x[:length]
    return out


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SongError(f"{path}: unreadable ({exc})") from exc


def read_song_data(folder: str | Path) -> SongData:
    """Read a song folder and whatever data-engine files it has."""
    folder = Path(folder)
    song = load_song(folder)
    n_ch, n = song.audio.shape
    data = SongData(song)
    if (folder / SOURCES_DIR).is_dir():
        data.sources = _read_tracks(folder / SOURCES_DIR, n_ch, n)
    if (folder / GAINS_FILE).exists():
        z = _load_npz(folder / GAINS_FILE)
        data.target_gains_db = z.get("target_gains_db")
        data.oracle_gains_db = z.get("oracle_gains_db")
        data.oracle_static_db = z.get("oracle_static_db")
    if (folder / STAGE_FILE).exists():
        data.rirs = _load_npz(folder / STAGE_FILE).get("rirs")
    img_dir = folder / IMAGES_DIR
    if img_dir.is_dir():
        img = np.zeros((n_ch, n_ch, n), dtype=np.float32)
        for path in img_dir.glob("*.flac"):
            c, s = (int(v) - 1 for v in path.stem.split("_"))
            x, _ = sf.read(path, dtype="float32")
            img[c, s, : min(n, len(x))] = x[:n]
        data.stored_images = img
    return data
