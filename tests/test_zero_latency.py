"""Zero-latency mixing: the gain predicted from frame t is applied to frame t+1 only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bridge.mixdown import DirectMixer
from models.alm import apply_gains_zero_latency, zero_latency_gains

FRAME = 4


def test_gain_for_frame_t_lands_on_frame_t_plus_1_only() -> None:
    channels = torch.ones(1, 2, 5 * FRAME)
    gains = torch.tensor([[[2.0, 3.0, 4.0, 5.0, 6.0], [10.0, 20.0, 30.0, 40.0, 50.0]]])
    mix = apply_gains_zero_latency(channels, gains, FRAME)
    per_frame = mix.reshape(5, FRAME)
    assert bool((per_frame == per_frame[:, :1]).all())  # constant within a frame
    # Frame 0: unity on both channels; frame t+1: the gains of frame t.
    assert per_frame[:, 0].tolist() == [2.0, 12.0, 23.0, 34.0, 45.0]


def test_a_change_in_one_prediction_moves_only_the_next_frame() -> None:
    rng = np.random.default_rng(0)
    channels = torch.from_numpy(rng.standard_normal((1, 3, 6 * FRAME)).astype(np.float32))
    gains = torch.ones(1, 3, 6)
    base = apply_gains_zero_latency(channels, gains, FRAME)
    gains[0, 1, 2] = 0.25  # the prediction made from frame 2
    moved = apply_gains_zero_latency(channels, gains, FRAME)
    changed = (moved - base).abs().reshape(6, FRAME).amax(dim=1) > 0
    assert changed.tolist() == [False, False, False, True, False, False]


def test_initial_gain_and_partial_last_frame() -> None:
    channels = torch.ones(1, 1, 2 * FRAME + 1)  # a partial third frame
    gains = torch.tensor([[[3.0, 5.0]]])
    mix = apply_gains_zero_latency(channels, gains, FRAME, initial=torch.tensor([[0.5]]))
    assert mix[0].tolist() == [0.5] * FRAME + [3.0] * FRAME + [5.0]
    with pytest.raises(ValueError, match="cannot cover"):
        apply_gains_zero_latency(torch.ones(1, 1, 4 * FRAME), gains, FRAME)


def test_ramped_application_matches_the_engines_direct_mixer() -> None:
    """ramp=True is what bridge.mixdown.DirectMixer does live, hop by hop."""
    rng = np.random.default_rng(1)
    hop, n_hops, n_ch = 480, 7, 3
    audio = rng.standard_normal((n_ch, hop * n_hops)).astype(np.float32)
    gains_db = rng.uniform(-20, 6, size=(n_ch, n_hops))
    mixer = DirectMixer(n_ch)
    live, applied = [], np.zeros(n_ch)
    for k in range(n_hops):
        live.append(mixer.process(audio[:, k * hop : (k + 1) * hop], applied))
        applied = gains_db[:, k]  # predicted from hop k, applied to hop k+1
    lin = torch.from_numpy(10 ** (gains_db / 20))[None]
    ours = apply_gains_zero_latency(torch.from_numpy(audio)[None].double(), lin, hop, ramp=True)
    assert np.allclose(ours[0].numpy(), np.concatenate(live), atol=1e-5)


def test_zero_latency_gains_is_differentiable() -> None:
    gains = torch.full((1, 2, 3), 0.5, requires_grad=True)
    per_sample = zero_latency_gains(gains, FRAME, 4 * FRAME, ramp=True)
    per_sample.sum().backward()
    assert gains.grad is not None and float(gains.grad.abs().sum()) > 0
