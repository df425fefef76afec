"""Training features per song: audio, target, per-frame RMS, log-mel and cached frozen embeddings.

Every F2 frame t of a song has the embedding of the 975 ms window ending with it (`emb_end`);
a channel with refresh phase p reads, at frame t, the one of its latest refresh frame
r = t - ((t - p) mod refresh) (silence before the song starts), exactly what the streaming runner
holds. With the embedding frozen these are computed once per run; fine-tuning recomputes only
the windows a chunk reads, from the cached log-mel.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from models.alm.config import MEL_HOP, SAMPLE_RATE, WINDOW_FRAMES, Geometry
from models.alm.features import frame_rms_db
from models.alm.output import autofader_levels, frame_base_db
from models.embedding import EmbeddingModule
from models.embedding.frontend import CausalLogMel

if TYPE_CHECKING:
    from models.data.store import SongData

EMBED_BATCH = 512


@dataclass
class SongFeatures:
    """One training song under one geometry. `audio` is float16 to halve memory."""

    name: str
    audio: torch.Tensor  # (C, n) float16
    target: torch.Tensor  # (n,) float32
    rms_db: torch.Tensor  # (C, F)
    mel: torch.Tensor  # (C, n_mels, WINDOW_FRAMES + M): silence columns first; empty if dropped
    emb_end: torch.Tensor  # (C, F + 1, D): row F is the silence embedding
    ideal_db: torch.Tensor | None = None  # (C, F): the engineer's gain at the end of each frame
    base_db: torch.Tensor | None = None  # (C, F): the auto-fader's level each frame reads
    roles: torch.Tensor | None = None  # (C,) long: each channel's role (models.alm.roles)

    @property
    def n_frames(self) -> int:
        return int(self.rms_db.shape[1])

    @property
    def n_channels(self) -> int:
        return int(self.audio.shape[0])


def song_folders(root: Path, split: str) -> list[Path]:
    """Song folders of a split (DIR/split/*/song.json), or of DIR itself when it has no splits."""
    base = root / split if (root / split).is_dir() else root
    return sorted(p.parent for p in base.glob("*/song.json"))


def load_training_song(
    folder: Path, bleed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(channels (C, n) float32, target (n,) float32, ideal gains (frames, C) dB or None);
    bleed=False: each channel's own source without bleed (the data engine's clean channels,
    what the target mix is made of). The ideal gains: `channel_ideal_db`.
    """
    from models.data.store import read_song_data

    data = read_song_data(folder)
    song = data.song
    if song.target_mix is None:
        raise ValueError(f"{folder}: no target mix")
    audio = song.audio if bleed else data.clean().astype(np.float32)
    return audio, song.target_mix.astype(np.float32), channel_ideal_db(data, bleed)


def channel_roles(folder: Path) -> list[str]:
    """Each channel's role as song.json names it (models.alm.config.ROLES)."""
    import json

    meta = json.loads((folder / "song.json").read_text())
    return [str(ch.get("role") or "") for ch in meta["channels"]]


def channel_ideal_db(data: SongData, bleed: bool = True) -> np.ndarray | None:
    """The engineer's gains per 50 ms frame (frames, C) dB, as channel faders: the target gain
    of each channel's own source, moved to the channel's level (minus its soundcheck gain
    staging, its post-bleed trim and the input gain); None where the song has none. bleed=False:
    for the clean channels (the target gains as they are)."""
    extra = data.song.meta.extra
    if data.target_gains_db is None or extra.get("target_gains_of") != "clean":
        return None
    ideal = data.target_gains_db.astype(np.float32)
    if not bleed:
        return ideal
    stage = extra.get("stage") or {}
    if "post_trims_db" not in stage or "input_gain_db" not in stage:
        return None
    return ideal - stage_offset_db(stage)


def stage_offset_db(stage: dict[str, Any]) -> np.ndarray:
    """(C,) dB from a source's clean level to its console channel's: soundcheck gain staging,
    post-bleed trim and input gain (song.json `stage`)."""
    staging = np.asarray(stage.get("staging_db") or 0.0, np.float32)
    trims = np.asarray(stage["post_trims_db"], np.float32) + staging
    return cast(np.ndarray, trims + np.float32(stage["input_gain_db"]))


def window_ends(n_frames: int, geometry: Geometry) -> torch.Tensor:
    """(F,) index of the last mel frame of the window ending with each F2 frame."""
    t = torch.arange(n_frames)
    return (t + 1) * geometry.frame // MEL_HOP - 1


def mel_windows(mel: torch.Tensor, channels: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """mel: (C, n_mels, WINDOW_FRAMES + M) with leading silence; channels, ends: (K,) long
    -> (K, n_mels, WINDOW_FRAMES), the windows ending at mel frame `ends` of each channel."""
    idx = ends[:, None] + 1 + torch.arange(WINDOW_FRAMES)  # (K, W) in padded columns
    win = mel[channels]  # (K, n_mels, cols)
    return torch.gather(win, 2, idx[:, None, :].expand(-1, win.shape[1], -1))


@torch.no_grad()
def embed_windows(embedding: EmbeddingModule, windows: torch.Tensor) -> torch.Tensor:
    """(K, n_mels, W) -> (K, D) in batches (inference: no gradient)."""
    out = [embedding(windows[i : i + EMBED_BATCH]) for i in range(0, len(windows), EMBED_BATCH)]
    return torch.cat(out) if out else torch.zeros(0, embedding.out_dim)


def song_features(
    name: str,
    audio: np.ndarray,
    target: np.ndarray,
    embedding: EmbeddingModule,
    frontend: CausalLogMel,
    geometry: Geometry,
    ideal_db: np.ndarray | None = None,
    emb_end: torch.Tensor | None = None,
    keep_mel: bool = True,
) -> SongFeatures:
    """Features of one song (channels (C, n), target (n,), ideal gains (50 ms frames, C) dB)
    with the embedding as it is now (or `emb_end`, its embeddings read from an EmbeddingCache).

    keep_mel=False drops the log-mel once the embeddings are known (an empty `mel`): a run whose
    embedding never trains needs only `emb_end`, and the mel is a sixth of a song's memory."""
    x = torch.from_numpy(audio)
    rms = frame_rms_db(x[None], geometry.frame)[0]  # (C, F)
    mel = torch.zeros(0)
    if keep_mel or emb_end is None:
        mel = frontend(x)  # (C, n_mels, M)
        lead = frontend.silence()[None, :, None].expand(x.shape[0], -1, WINDOW_FRAMES)
        mel = torch.cat([lead, mel], dim=-1).contiguous()  # (C, n_mels, W + M)
    feats = SongFeatures(name, x.half(), torch.from_numpy(target), rms, mel, torch.zeros(0))
    feats.emb_end = frozen_embeddings(feats, embedding, geometry) if emb_end is None else emb_end
    if not keep_mel:
        feats.mel = torch.zeros(0)
    feats.base_db = frame_base_db(autofader_levels(audio), geometry, feats.n_frames)
    if ideal_db is not None:
        n_frames = rms.shape[1]
        hop = SAMPLE_RATE // 20
        ends = ((torch.arange(n_frames) + 1) * geometry.frame - 1) // hop  # 50 ms frame index
        ends = ends.clamp(max=len(ideal_db) - 1)
        feats.ideal_db = torch.from_numpy(ideal_db)[ends].T.contiguous()  # (C, F)
    return feats


def frozen_embeddings(
    feats: SongFeatures, embedding: EmbeddingModule, geometry: Geometry
) -> torch.Tensor:
    """(C, F + 1, D): the embedding of the window ending with every frame, then silence."""
    c, f = feats.n_channels, feats.n_frames
    ends = window_ends(f, geometry).repeat(c)  # (C * F,)
    chans = torch.arange(c).repeat_interleave(f)
    emb = embed_windows(embedding, mel_windows(feats.mel, chans, ends)).reshape(c, f, -1)
    silence = embed_windows(embedding, feats.mel[:1, :, :WINDOW_FRAMES])  # (1, D)
    return torch.cat([emb, silence[None].expand(c, 1, -1)], dim=1)


def refresh_frames(start: int, length: int, phase: torch.Tensor, refresh: int) -> torch.Tensor:
    """(C, length) the latest refresh frame at or before each frame start..start+length-1 of
    channels with refresh `phase` (C,); -1 before the first one."""
    t = torch.arange(start, start + length)[None, :]  # (1, L)
    r = t - torch.remainder(t - phase[:, None], refresh)  # (C, L)
    return torch.where(r >= 0, r, torch.full_like(r, -1))


class EmbeddingCache:
    """Frozen embeddings of training songs on disk, so runs that share an embedding (and every
    resumed run) embed each song once: `ROOT/KEY/SONG.pt`, KEY a hash of the embedding's
    weights, the geometry and the channel kind (bleed or clean). An entry records the size and
    modification time of every file of the song's folder (its channel files too); a song
    rewritten since is embedded again.
    """

    def __init__(self, root: Path, embedding: torch.nn.Module, geometry: Geometry,
                 bleed: bool) -> None:  # fmt: skip
        h = hashlib.sha256(f"{geometry.frame}/{geometry.refresh}/{bleed}".encode())
        for name, tensor in sorted(embedding.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        self.dir = root / h.hexdigest()[:16]

    @staticmethod
    def _stamp(folder: Path) -> list[list[Any]]:
        """Every file of the song folder, its channels' audio included: path, size, mtime."""
        return [[f.relative_to(folder).as_posix(), f.stat().st_size, f.stat().st_mtime_ns]
                for f in sorted(folder.rglob("*")) if f.is_file()]  # fmt: skip

    def get(self, folder: Path, name: str | None = None) -> torch.Tensor | None:
        """The song's cached embeddings, or None; `name`: its entry (default: the folder's)."""
        path = self.dir / f"{name or folder.name}.pt"
        if not path.is_file():
            return None
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
            return None  # a half-written or damaged entry: embed again
        if entry.get("stamp") != self._stamp(folder):
            return None
        return cast(torch.Tensor, entry["emb_end"])

    def put(self, folder: Path, emb_end: torch.Tensor, name: str | None = None) -> None:
        """Writes the entry through a temporary file of this writer's own, then renames it into
        place: runs that share the cache (two trainings at once) may write the same entry
        together, and each rename is whole (a shared temporary name let one run rename the
        other's file away, and the second rename failed)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        entry = name or folder.name
        fd, tmp_name = tempfile.mkstemp(dir=self.dir, prefix=f"{entry}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save({"stamp": self._stamp(folder), "emb_end": emb_end}, f)
            tmp.replace(self.dir / f"{entry}.pt")
        finally:
            tmp.unlink(missing_ok=True)
