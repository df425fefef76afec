"""Zero-latency mixing: the gain predicted from frame t is applied to frame t+1, never to frame t.

Used by training (the loss hears the shifted application) and evaluation, so both see what the
live engine does.
"""

from __future__ import annotations

import torch


def zero_latency_gains(
    gains: torch.Tensor,
    frame: int,
    n_samples: int,
    initial: torch.Tensor | None = None,
    ramp: bool = False,
) -> torch.Tensor:
    """gains: (batch, channels, F) linear, one per frame -> per-sample gains (b, c, n_samples).

    Frame 0 gets `initial` (batch, channels) (unity when None); frame t+1 gets gains[..., t].
    ramp: as the engine's direct mixer, frame t+1 glides linearly from gains[t-1] to gains[t]
    (reached at its last sample) instead of stepping. Needs (F + 1) * frame >= n_samples.
    """
    b, c, n_frames = gains.shape
    if (n_frames + 1) * frame < n_samples:
        raise ValueError(
            f"{n_frames} frames of {frame} samples cannot cover {n_samples} samples at zero latency"
        )
    first = torch.ones(b, c, 1) if initial is None else initial.unsqueeze(-1)
    shifted = torch.cat([first.to(gains), gains], dim=-1)  # (b, c, F + 1): frame index
    if not ramp:
        per_sample = shifted.repeat_interleave(frame, dim=-1)  # (b, c, (F + 1) * frame)
        return per_sample[..., :n_samples]
    start = torch.cat([shifted[..., :1], shifted[..., :-1]], dim=-1)  # (b, c, F + 1)
    t = torch.arange(1, frame + 1, dtype=gains.dtype) / frame  # (frame,)
    curve = start[..., None] + (shifted - start)[..., None] * t  # (b, c, F + 1, frame)
    return curve.reshape(b, c, -1)[..., :n_samples]


def apply_gains_zero_latency(
    channels: torch.Tensor,
    gains: torch.Tensor,
    frame: int,
    initial: torch.Tensor | None = None,
    ramp: bool = False,
) -> torch.Tensor:
    """channels: (batch, channels, samples), gains: (batch, channels, F) linear amplitude
    -> mono mix (batch, samples) with frame t's gain on frame t+1 (frame 0: `initial` or unity).

    No normalisation and no clipping: what the live mix would carry. ramp: see
    `zero_latency_gains`.
    """
    per_sample = zero_latency_gains(gains, frame, channels.shape[-1], initial, ramp)
    return torch.sum(channels * per_sample, dim=1)
