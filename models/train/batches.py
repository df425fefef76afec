"""Training batches: random excerpts cut into chunks, their features, and the mixed output.

A sequence is `sequence_s` of B random songs from a random start frame, with a random refresh
phase per channel; it is cut into chunks of `chunk_s`, one optimiser step each, the GRU state
and the last applied gain carried from chunk to chunk (truncated back-propagation through time).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.alm.config import RMS_FLOOR_DB, Geometry
from models.alm.mixing import apply_gains_zero_latency
from models.embedding import EmbeddingModule
from models.train.features import SongFeatures, mel_windows, refresh_frames, window_ends


@dataclass
class Sequence:
    """B excerpts: which songs, from which frame, with which refresh phases."""

    songs: list[SongFeatures]
    starts: list[int]
    """First frame of each excerpt in its song."""
    phases: list[torch.Tensor]  # (C_b,) long each
    n_frames: int
    chunk: int

    def chunks(self) -> list[tuple[int, int]]:
        """(offset, length) of each chunk in frames, relative to the excerpt start."""
        return [
            (a, min(self.chunk, self.n_frames - a)) for a in range(0, self.n_frames, self.chunk)
        ]


def draw_sequence(
    songs: list[SongFeatures],
    batch: int,
    n_frames: int,
    chunk: int,
    geometry: Geometry,
    gen: torch.Generator,
) -> Sequence:
    """B random songs (with replacement), random starts and phases, from a seeded generator."""
    picks = torch.randint(len(songs), (batch,), generator=gen).tolist()
    chosen = [songs[i] for i in picks]
    length = min(n_frames, min(s.n_frames for s in chosen))
    starts = [int(torch.randint(s.n_frames - length + 1, (1,), generator=gen)) for s in chosen]
    phases = []
    for s in chosen:
        base = geometry.default_phase(s.n_channels)
        phases.append(base[torch.randperm(s.n_channels, generator=gen)])
    return Sequence(chosen, starts, phases, length, chunk)


def chunk_inputs(
    seq: Sequence,
    offset: int,
    length: int,
    geometry: Geometry,
    embedding: EmbeddingModule | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features of one chunk, channels zero-padded to the batch's largest count.

    embedding None: the cached frozen embeddings; else the windows are embedded now (with
    gradient: fine-tuning). Returns emb (B, C, L, D), rms_db (B, C, L), mask (B, C),
    audio (B, C, L * frame), target (B, L * frame).
    """
    c_max = max(s.n_channels for s in seq.songs)
    frame = geometry.frame
    embs, rmss, audios, targets = [], [], [], []
    mask = torch.zeros(len(seq.songs), c_max, dtype=torch.bool)
    for b, (song, start, phase) in enumerate(zip(seq.songs, seq.starts, seq.phases, strict=True)):
        a = start + offset
        c = song.n_channels
        mask[b, :c] = True
        r = refresh_frames(a, length, phase, geometry.refresh)  # (C, L)
        if embedding is None:
            idx = torch.where(r < 0, torch.full_like(r, song.n_frames), r)
            emb = torch.gather(
                song.emb_end, 1, idx[..., None].expand(-1, -1, song.emb_end.shape[-1])
            )
        else:
            emb = live_embeddings(song, r, embedding, geometry)
        pad = c_max - c
        embs.append(F.pad(emb, (0, 0, 0, 0, 0, pad)))
        rmss.append(F.pad(song.rms_db[:, a : a + length], (0, 0, 0, pad), value=RMS_FLOOR_DB))
        audios.append(
            F.pad(song.audio[:, a * frame : (a + length) * frame].float(), (0, 0, 0, pad))
        )
        targets.append(song.target[a * frame : (a + length) * frame])
    return torch.stack(embs), torch.stack(rmss), mask, torch.stack(audios), torch.stack(targets)


def sequence_roles(seq: Sequence) -> torch.Tensor:
    """(B, C) long: each excerpt's channel roles (models.alm.roles), "unknown" (0) on padded
    channels and for a song whose roles were never read."""
    c_max = max(s.n_channels for s in seq.songs)
    out = torch.zeros(len(seq.songs), c_max, dtype=torch.long)
    for b, song in enumerate(seq.songs):
        if song.roles is not None:
            out[b, : song.n_channels] = song.roles
    return out


def live_embeddings(
    song: SongFeatures, r: torch.Tensor, embedding: EmbeddingModule, geometry: Geometry
) -> torch.Tensor:
    """r: (C, L) refresh frames (-1: before the start) -> (C, L, D), each distinct window
    embedded once with the current (trainable) embedding."""
    c, length = r.shape
    keys = torch.arange(c)[:, None] * (song.n_frames + 1) + (r + 1)  # (C, L)
    uniq, inverse = torch.unique(keys.flatten(), return_inverse=True)
    chans = uniq // (song.n_frames + 1)
    frames = uniq % (song.n_frames + 1) - 1
    ends = torch.where(
        frames < 0,
        torch.full_like(frames, -1),
        window_ends(song.n_frames, geometry)[frames.clamp(min=0)],
    )
    emb = embedding(mel_windows(song.mel, chans, ends))  # (U, D)
    return emb[inverse].reshape(c, length, -1)


def mix_output(
    audio: torch.Tensor,
    gains: torch.Tensor,
    frame: int,
    latency: str,
    initial: torch.Tensor | None,
) -> torch.Tensor:
    """audio (B, C, n), linear gains (B, C, L) -> mono mix (B, n), ramped as the engine does.

    latency "zero": gains[t] applies to frame t+1 (frame 0 gets `initial`, the previous chunk's
    last gain, or unity); "none": gains[t] applies to frame t.
    """
    if latency == "zero":
        return apply_gains_zero_latency(audio, gains, frame, initial, ramp=True)
    return apply_gains_zero_latency(audio, gains[..., 1:], frame, gains[..., 0], ramp=True)


def chunk_ideal(seq: Sequence, offset: int, length: int, shift: int) -> torch.Tensor | None:
    """(B, C, L) the ideal gain (dB) each prediction of a chunk aims at: that of frame t + shift
    (1 at zero latency, where the gain from frame t is heard on frame t+1); NaN where unknown
    (padded channels, past the song's end). None when no song of the batch has ideal gains."""
    if all(s.ideal_db is None for s in seq.songs):
        return None
    c_max = max(s.n_channels for s in seq.songs)
    out = torch.full((len(seq.songs), c_max, length), float("nan"))
    for b, (song, start) in enumerate(zip(seq.songs, seq.starts, strict=True)):
        if song.ideal_db is None:
            continue
        a = start + offset + shift
        part = song.ideal_db[:, a : a + length]
        out[b, : song.n_channels, : part.shape[1]] = part
    return out


def chunk_rms(seq: Sequence, offset: int, length: int, shift: int) -> torch.Tensor:
    """(B, C, L) the RMS (dB) of frame t + shift for each prediction t of a chunk (the frame
    its gain is heard on); RMS_FLOOR_DB on padded channels and past the song's end."""
    c_max = max(s.n_channels for s in seq.songs)
    out = torch.full((len(seq.songs), c_max, length), RMS_FLOOR_DB)
    for b, (song, start) in enumerate(zip(seq.songs, seq.starts, strict=True)):
        a = start + offset + shift
        part = song.rms_db[:, a : a + length]
        out[b, : song.n_channels, : part.shape[1]] = part
    return out


def chunk_base(seq: Sequence, offset: int, length: int) -> torch.Tensor:
    """(B, C, L) the auto-fader level each frame of a chunk reads (0 dB on padded channels)."""
    c_max = max(s.n_channels for s in seq.songs)
    out = torch.zeros(len(seq.songs), c_max, length)
    for b, (song, start) in enumerate(zip(seq.songs, seq.starts, strict=True)):
        if song.base_db is None:
            raise ValueError(f"{song.name}: no auto-fader levels computed")
        a = start + offset
        out[b, : song.n_channels] = song.base_db[:, a : a + length]
    return out


def gain_loss(
    gains_db: torch.Tensor,
    ideal_db: torch.Tensor,
    low: float,
    high: float,
    centered: bool = False,
) -> torch.Tensor:
    """Mean |gain - ideal| in dB over the known entries, the ideal clipped to [low, high].

    centered: the mean difference over each frame's known channels is removed first, so only
    the balance between channels counts, not the overall level (what the balance metric and
    the level-matched MR-STFT measure).
    """
    known = torch.isfinite(ideal_db)
    if not bool(known.any()):
        return gains_db.sum() * 0.0
    target = torch.where(known, ideal_db.clamp(low, high), torch.zeros_like(ideal_db))
    diff = torch.where(known, gains_db - target, torch.zeros_like(gains_db))  # (B, C, L)
    if centered:
        count = known.sum(dim=1, keepdim=True).clamp(min=1)
        diff = diff - diff.sum(dim=1, keepdim=True) / count
    return torch.sum(torch.abs(diff) * known) / known.sum()


def balance_loss(
    gains_db: torch.Tensor,
    ideal_db: torch.Tensor,
    rms_db: torch.Tensor,
    low: float,
    high: float,
    active_db: float = -60.0,
) -> torch.Tensor:
    """Mean |balance error| (dB) of a chunk's channels, what the evaluation's balance measures
    with each channel standing for its own source (bleed and K-weighting left out): each
    channel's level in the chunk under the predicted gains minus under the ideal ones, energies
    summed over the frames (rms_db: (B, C, L), the frames the gains are heard on), the mean over
    the channels that play removed. A channel plays when its mean level under the ideal gains
    is above `active_db`; a batch row with fewer than two playing channels adds nothing.
    """
    known = torch.isfinite(ideal_db)
    target = torch.where(known, ideal_db.clamp(low, high), torch.zeros_like(ideal_db))
    power = torch.where(known, torch.pow(10.0, rms_db / 10.0), torch.zeros_like(rms_db))
    frames = known.sum(dim=-1).clamp(min=1)
    want = torch.sum(power * torch.pow(10.0, target / 10.0), dim=-1)  # (B, C)
    got = torch.sum(power * torch.pow(10.0, gains_db / 10.0), dim=-1)
    plays = want / frames > 10.0 ** (active_db / 10.0)
    err = torch.where(plays, 10.0 * torch.log10(got.clamp_min(1e-30) / want.clamp_min(1e-30)),
                      torch.zeros_like(want))  # fmt: skip
    count = plays.sum(dim=1, keepdim=True)
    err = err - err.sum(dim=1, keepdim=True) / count.clamp(min=1)
    rows = (count >= 2).expand_as(plays) & plays
    if not bool(rows.any()):
        return gains_db.sum() * 0.0
    return torch.sum(torch.abs(err) * rows) / rows.sum()
