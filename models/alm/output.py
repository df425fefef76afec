"""What a mixer network's output becomes: gains in dB per F2 frame, from the output logits, the
loudness auto-fader's level (when the network corrects it) and the soft slew limit.

One code path for training (the loss hears the slewed, corrected gains), evaluation and the
streaming runner (models.inference), so all three apply exactly the same gains.

The auto-fader level is `models.baselines.autofader.LoudnessAutoFader` streamed over the channels
in blocks of BASE_BLOCK samples (the engine's 50 ms hop): frame t reads its gain after the last
whole block ending at or before the end of frame t, i.e. only audio already heard.
"""

from __future__ import annotations

import numpy as np
import torch

from models.alm.config import MR_FRAME, SAMPLE_RATE, GainRange, Geometry

BASE_BLOCK = MR_FRAME
"""The auto-fader is fed 50 ms blocks, as the engine feeds it when it is the gain source."""


def slew(wanted_db: torch.Tensor, max_step_db: float, prev_db: torch.Tensor | None) -> torch.Tensor:
    """wanted_db (..., F) -> the gains (..., F) that follow it with no step above
    `max_step_db`: g[t] = g[t-1] + s * tanh((wanted[t] - g[t-1]) / s), g[-1] = prev_db (0 dB
    when None). Differentiable everywhere (a hard clamp would stop the gradient when it bites)."""
    g = torch.zeros_like(wanted_db[..., 0]) if prev_db is None else prev_db.to(wanted_db)
    out = []
    for t in range(wanted_db.shape[-1]):
        g = g + max_step_db * torch.tanh((wanted_db[..., t] - g) / max_step_db)
        out.append(g)
    return torch.stack(out, dim=-1)


def output_db(
    gain: GainRange,
    z: torch.Tensor,
    base_db: torch.Tensor | None = None,
    prev_db: torch.Tensor | None = None,
) -> torch.Tensor:
    """z (..., F) output logits -> gains in dB (..., F); gains[..., t] is heard on frame t+1.

    base_db (..., F): the auto-fader's level per frame (needed when `gain.has_base`).
    prev_db (...): the gain in force before frame 0 (0 dB when None), where the slew starts.
    """
    wanted = gain.to_db(z, base_db)
    if gain.max_step_db <= 0:
        return wanted
    return slew(wanted, gain.max_step_db, prev_db)


def output_db_frame(
    gain: GainRange, z: np.ndarray, base_db: np.ndarray | None, prev_db: np.ndarray
) -> np.ndarray:
    """`output_db` for one frame on float64 numpy, for the streaming runner's hot path (the torch
    version dispatches a dozen tensor ops a hop). z (C,) logits, base_db (C,) the auto-fader's
    level (when `gain.has_base`), prev_db (C,) the gains in force -> (C,) gains in dB. The same
    arithmetic as `GainRange.to_db` and `slew` (tested against them)."""
    z = np.asarray(z, dtype=np.float64)
    if gain.has_base:
        if base_db is None:
            raise ValueError("this output corrects a base level: pass base_db")
        wanted = np.clip(base_db + gain.correction_db * np.tanh(z), gain.min_db, gain.max_db)
    elif gain.output == "bounded_db":
        wanted = gain.min_db + (gain.max_db - gain.min_db) / (1.0 + np.exp(-z))
    else:
        floor = 10.0 ** (gain.min_db / 20.0)
        wanted = np.clip(20.0 * np.log10(np.maximum(z, floor)), gain.min_db, gain.max_db)
    if gain.max_step_db <= 0:
        return np.asarray(wanted, dtype=np.float64)
    s = gain.max_step_db
    return np.asarray(prev_db + s * np.tanh((wanted - prev_db) / s), dtype=np.float64)


def autofader_levels(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(C, n) audio -> (C, n // BASE_BLOCK) float32: the auto-fader's gain (dB) after each whole
    block, streamed exactly as the gain source runs live."""
    from models.baselines.autofader import LoudnessAutoFader

    fader = LoudnessAutoFader()
    fader.reset(audio.shape[0], sample_rate)
    blocks = audio.shape[1] // BASE_BLOCK
    out = np.zeros((audio.shape[0], blocks), dtype=np.float32)
    for k in range(blocks):
        block = audio[:, k * BASE_BLOCK : (k + 1) * BASE_BLOCK]
        out[:, k] = fader.step(np.ascontiguousarray(block))
    return out


def frame_base_db(levels: np.ndarray, geometry: Geometry, n_frames: int) -> torch.Tensor:
    """(C, blocks) auto-fader levels -> (C, n_frames): the level each F2 frame reads (that after
    the last whole block ending with or before the frame; 0 dB before the first block)."""
    done = (np.arange(n_frames) + 1) * geometry.frame // BASE_BLOCK  # blocks completed
    padded = np.concatenate([np.zeros((levels.shape[0], 1), np.float32), levels], axis=1)
    return torch.from_numpy(padded[:, np.minimum(done, levels.shape[1])].copy())
