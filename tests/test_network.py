"""The ALM and DMC networks: shapes for 1..64 channels, masking, weight sharing, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.alm import offline_forward
from models.alm.config import ALMConfig, DMCConfig, GainRange
from models.alm.features import pad_channels, refresh_plan
from models.alm.network import ALMNet
from models.dmc import DMCNet
from models.embedding.student import StudentEmbedding
from models.gainsource import InputAudioError

RATE = 48_000


def make_alm(mode: str = "mr", refresh: str = "staggered", seed: int = 0) -> ALMNet:
    torch.manual_seed(seed)
    return ALMNet(StudentEmbedding(), ALMConfig(mode=mode, refresh=refresh)).eval()


def make_dmc(seed: int = 0) -> DMCNet:
    torch.manual_seed(seed)
    return DMCNet(StudentEmbedding(), DMCConfig()).eval()


def noise(channels: int, seconds: float, seed: int = 0) -> torch.Tensor:
    """(1, channels, samples) of noise at a different level per channel."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, int(seconds * RATE))).astype(np.float32)
    levels = 10 ** (rng.uniform(-40, -6, size=(channels, 1)) / 20)
    return torch.from_numpy((x * levels).astype(np.float32))[None]


@pytest.fixture(scope="module")
def alm() -> ALMNet:
    return make_alm()


@pytest.mark.parametrize("channels", [1, 2, 7, 64])
def test_one_gain_per_channel_and_frame_for_any_channel_count(alm: ALMNet, channels: int) -> None:
    audio = noise(channels, 1.0)
    with torch.no_grad():
        z, state = offline_forward(alm, audio)
    assert z.shape == (1, channels, 20)  # 1 s of 50 ms frames
    assert state is not None and state.shape == (1, channels, 128)
    db = alm.gain.to_db(z)
    assert bool(torch.isfinite(db).all())
    assert float(db.min()) >= -40.0 and float(db.max()) <= 12.0


def test_single_rate_predicts_one_gain_per_975_ms() -> None:
    with torch.no_grad():
        z, _ = offline_forward(make_alm("sr", "sync"), noise(3, 3.0))
    assert z.shape == (1, 3, 3)  # 3 s // 0.975 s


@pytest.mark.parametrize("net", ["alm", "dmc"])
def test_padded_channels_do_not_change_real_channels(net: str) -> None:
    model = make_alm() if net == "alm" else make_dmc()
    real = noise(3, 2.0)
    with torch.no_grad():
        alone, _ = offline_forward(model, real)
        padded, mask = pad_channels(real, 9)
        # Garbage in the padding must not leak: fill it with loud noise.
        padded[:, 3:] = noise(6, 2.0, seed=5)[0] * 30
        both, _ = offline_forward(model, torch.cat([padded, padded]), mask.repeat(2, 1))
    assert both.shape[1] == 9
    assert torch.allclose(both[0, :3], alone[0], atol=1e-5)
    assert torch.allclose(both[1, :3], alone[0], atol=1e-5)
    assert bool((both[:, 3:] == 0).all())


@pytest.mark.parametrize("refresh", ["sync", "staggered"])
def test_permuting_channels_permutes_gains(refresh: str) -> None:
    """All weights are shared across channels and no channel index enters the network."""
    model = make_alm(refresh=refresh)
    audio = noise(5, 2.0)
    perm = torch.tensor([3, 0, 4, 1, 2])
    phase = model.geometry.default_phase(5)
    with torch.no_grad():
        z, _ = offline_forward(model, audio, phase=phase)
        zp, _ = offline_forward(model, audio[:, perm], phase=phase[perm])
    assert torch.allclose(zp, z[:, perm], atol=1e-5)


def test_dmc_permutation_and_mean_context() -> None:
    model = make_dmc()
    audio = noise(4, 3.0)
    perm = torch.tensor([2, 3, 1, 0])
    with torch.no_grad():
        z, state = offline_forward(model, audio)
        zp, _ = offline_forward(model, audio[:, perm])
        # The context is the mean over real tracks: other tracks move this track's gain, and
        # a track whose mean matches the context of two copies of itself reads the same.
        emb = torch.randn(1, 3, 2, 128)
        z3, _ = model(emb, None)
        z3b, _ = model(torch.cat([emb[:, :1], emb[:, 1:] * 3], dim=1), None)
        same = emb[:, :1].expand(1, 2, 2, 128)
        z1, _ = model(emb[:, :1], None)
        z2, _ = model(same, None)
    assert state is None and z.shape == (1, 4, 3)
    assert torch.allclose(zp, z[:, perm], atol=1e-5)
    assert float((z3b[0, 0] - z3[0, 0]).abs().max()) > 1e-4
    assert torch.allclose(z2[0, 0], z1[0, 0], atol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_audio_is_rejected_with_a_clear_error(alm: ALMNet, bad: float) -> None:
    audio = noise(2, 1.0)
    audio[0, 1, 100] = bad
    with pytest.raises(InputAudioError, match="NaN or Inf"):
        offline_forward(alm, audio)


def test_wrong_rank_is_rejected(alm: ALMNet) -> None:
    with pytest.raises(InputAudioError, match="batch, channels, samples"):
        offline_forward(alm, torch.zeros(2, RATE))


def test_silent_channels_give_finite_gains(alm: ALMNet) -> None:
    audio = noise(4, 1.5)
    audio[:, 1] = 0.0
    with torch.no_grad():
        z, _ = offline_forward(alm, audio)
        z_all_silent, _ = offline_forward(alm, torch.zeros(1, 3, RATE))
    assert bool(torch.isfinite(alm.gain.to_db(z)).all())
    assert bool(torch.isfinite(alm.gain.to_db(z_all_silent)).all())


def test_refresh_plan_staggers_channels_every_300_ms() -> None:
    geometry = make_alm().geometry
    ends, which = refresh_plan(12, geometry.default_phase(7), geometry)
    # Channel c first refreshes at frame c % 6 and then every 6 frames; before that: silence.
    for c in range(7):
        first = c % 6
        assert int(which[c, first]) == 1 and (first == 0 or int(which[c, first - 1]) == 0)
        assert int(ends[c, 1]) == (first + 1) * 5 - 1  # 5 mel frames per 50 ms
        assert int(ends[c, 0]) == -1
    assert bool((torch.diff(which, dim=1) >= 0).all())


def test_untrained_output_starts_at_0_db_and_is_bounded() -> None:
    gain = GainRange()
    bias = torch.tensor(gain.initial_bias())
    assert abs(float(gain.to_db(bias))) < 1e-5
    assert float(gain.to_db(torch.tensor(-50.0))) == pytest.approx(-40.0)
    assert float(gain.to_db(torch.tensor(50.0))) == pytest.approx(12.0)
    relu = GainRange(output="relu_linear")
    assert abs(float(relu.to_db(torch.tensor(relu.initial_bias())))) < 1e-6
    assert float(relu.to_db(torch.tensor(-1.0))) == pytest.approx(-40.0)
    assert float(relu.to_linear(torch.tensor(2.0))) == pytest.approx(2.0, rel=1e-5)
    with pytest.raises(ValueError, match="min_db < 0 < max_db"):
        GainRange(min_db=5.0)


def test_gradients_reach_every_part_in_training_mode() -> None:
    model = make_alm()
    model.train()
    audio = noise(3, 1.0)
    z, _ = offline_forward(model, audio)
    model.gain.to_linear(z).sum().backward()
    for name in ("embedding", "project", "te1", "rms", "te2", "gru", "te3", "mlp"):
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert all(g is not None for g in grads), name
        assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0, name
