"""Offline features for the mixer networks: per-frame RMS and each frame's current F1 embedding.

The streaming runner (models.inference) computes the same quantities hop by hop; the offline
pass here is what training and evaluation use, and the reference the runner is tested against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.alm.config import MEL_HOP, RMS_FLOOR_DB, WINDOW_FRAMES, Geometry
from models.embedding import EmbeddingModule
from models.embedding.frontend import CausalLogMel
from models.gainsource import InputAudioError


def check_audio(audio: torch.Tensor) -> None:
    """Clear errors for audio the networks cannot use: wrong rank or non-finite samples."""
    if audio.ndim != 3:
        raise InputAudioError(
            f"expected (batch, channels, samples) audio, got {tuple(audio.shape)}"
        )
    if not bool(torch.isfinite(audio).all()):
        raise InputAudioError("audio contains NaN or Inf samples")


def power_db(x: torch.Tensor) -> torch.Tensor:
    """Mean power over the last axis in dB, floored at RMS_FLOOR_DB (silence stays finite)."""
    ms = torch.sum(x * x, dim=-1, dtype=torch.float64) / x.shape[-1]
    return (10.0 * torch.log10(ms + 10.0 ** (RMS_FLOOR_DB / 10.0))).float()


def frame_rms_db(audio: torch.Tensor, frame: int) -> torch.Tensor:
    """audio: (batch, channels, samples) -> RMS in dBFS per whole F2 frame (batch, channels, F)."""
    n = audio.shape[-1] // frame
    frames = audio[..., : n * frame].reshape(*audio.shape[:-1], n, frame)  # (b, c, F, frame)
    return power_db(frames)


def refresh_plan(
    n_frames: int, phase: torch.Tensor, geometry: Geometry
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which window each channel embeds, and which embedding each F2 frame reads.

    phase: (channels,) long. Returns (ends (channels, K): last mel frame of each channel's k-th
    window, -1 = all silence; which (channels, n_frames): k of the window frame t reads).
    Window k of channel c ends with F2 frame phase_c + refresh * (k - 1); k = 0 is before the
    start (silence), and so are windows past the last frame (never read).
    """
    r = geometry.refresh
    t = torch.arange(n_frames)
    which = torch.div(t[None, :] - phase[:, None], r, rounding_mode="floor") + 1  # (c, F)
    k = torch.arange(n_frames // r + 2)
    refresh_frame = phase[:, None] + r * (k[None, :] - 1)  # (c, K)
    ends = (refresh_frame + 1) * geometry.frame // MEL_HOP - 1
    used = (refresh_frame >= 0) & (refresh_frame < n_frames)
    return torch.where(used, ends, torch.full_like(ends, -1)), which


def gather_windows(mel: torch.Tensor, ends: torch.Tensor, silence: torch.Tensor) -> torch.Tensor:
    """mel: (batch, channels, n_mels, M), ends: (channels, K), silence: (n_mels,)
    -> windows (batch, channels, K, n_mels, WINDOW_FRAMES) ending at `ends` (silence before 0)."""
    b, c, n_mels, _ = mel.shape
    lead = silence[None, None, :, None].expand(b, c, n_mels, WINDOW_FRAMES)
    padded = torch.cat([lead, mel], dim=-1)  # (b, c, n_mels, WINDOW_FRAMES + M)
    idx = ends[:, :, None] + 1 + torch.arange(WINDOW_FRAMES)  # (c, K, W)
    k = ends.shape[1]
    flat = idx.reshape(1, c, 1, k * WINDOW_FRAMES).expand(b, c, n_mels, -1)
    win = torch.gather(padded, 3, flat).reshape(b, c, n_mels, k, WINDOW_FRAMES)
    return win.permute(0, 1, 3, 2, 4)  # (b, c, K, n_mels, W)


def frame_embeddings(
    embedding: EmbeddingModule,
    frontend: CausalLogMel,
    audio: torch.Tensor,
    geometry: Geometry,
    phase: torch.Tensor | None = None,
) -> torch.Tensor:
    """audio: (batch, channels, samples) -> each F2 frame's current embedding
    (batch, channels, F, emb_dim), F = samples // geometry.frame."""
    b, c, _ = audio.shape
    n_frames = audio.shape[-1] // geometry.frame
    phase = geometry.default_phase(c) if phase is None else phase
    mel = frontend(audio)  # (b, c, n_mels, M)
    ends, which = refresh_plan(n_frames, phase, geometry)
    win = gather_windows(mel, ends, frontend.silence())  # (b, c, K, n_mels, W)
    k = win.shape[2]
    emb = embedding(win.reshape(b * c * k, *win.shape[3:]))  # (b * c * K, D)
    emb = emb.reshape(b, c, k, -1)
    idx = which[None, :, :, None].expand(b, c, n_frames, emb.shape[-1])
    return torch.gather(emb, 2, idx)  # (b, c, F, D)


def pad_channels(audio: torch.Tensor, n_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad (batch, channels, samples) to n_channels; returns (audio, mask (batch, n))."""
    b, c, _ = audio.shape
    if c > n_channels:
        raise ValueError(f"{c} channels do not fit in {n_channels}")
    mask = torch.zeros(b, n_channels, dtype=torch.bool)
    mask[:, :c] = True
    return F.pad(audio, (0, 0, 0, n_channels - c)), mask
