"""The network's output path (models.alm.output): a bounded correction on top of the causal
loudness auto-fader and the soft slew limit, identical offline (training) and streamed (live)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from models.alm import offline_gains_db
from models.alm.config import ALMConfig, DMCConfig, GainRange
from models.alm.network import ALMNet
from models.alm.output import autofader_levels, frame_base_db, output_db, output_db_frame, slew
from models.baselines.autofader import LoudnessAutoFader
from models.dmc import DMCNet
from models.embedding.student import StudentEmbedding
from models.inference import StreamingMixer
from tests.test_streaming import RATE, band, stream

HOP = 2400
SLEWED = GainRange(min_db=-40.0, max_db=24.0, base="autofader", max_step_db=1.2)


def corrected(kind: str, mode: str, gain: GainRange, seed: int = 0) -> ALMNet | DMCNet:
    """A seeded untrained network with `gain`, its last layer randomised (at init it is zero,
    so the correction would be nothing and the comparison trivial)."""
    torch.manual_seed(seed)
    emb = StudentEmbedding()
    if kind == "alm":
        model: ALMNet | DMCNet = ALMNet(emb, ALMConfig(mode=mode, gain=gain))
    else:
        model = DMCNet(emb, DMCConfig(mode=mode, gain=gain))
    last = model.mlp[-1]
    assert isinstance(last, nn.Linear)
    nn.init.normal_(last.weight, std=0.5)
    return model.eval()


def autofader_per_hop(audio: np.ndarray) -> np.ndarray:
    fader = LoudnessAutoFader()
    fader.reset(audio.shape[0], RATE)
    hops = [audio[:, k : k + HOP] for k in range(0, audio.shape[1] - HOP + 1, HOP)]
    return np.stack([fader.step(h) for h in hops], 1)


def test_config_rejects_impossible_output_settings() -> None:
    with pytest.raises(ValueError, match="base must be one of"):
        GainRange(base="dugan")
    with pytest.raises(ValueError, match="needs output 'bounded_db'"):
        GainRange(output="relu_linear", base="autofader")
    with pytest.raises(ValueError, match="max_step_db >= 0"):
        GainRange(max_step_db=-1.0)
    with pytest.raises(ValueError, match="pass base_db"):
        SLEWED.to_db(torch.zeros(3))


def test_correction_is_bounded_around_the_base() -> None:
    gain = GainRange(min_db=-40.0, max_db=24.0, base="autofader", correction_db=12.0)
    base = torch.tensor([-6.0, 3.0, -30.0])
    assert torch.equal(gain.to_db(torch.zeros(3), base), base)
    up = gain.to_db(torch.full((3,), 50.0), base)
    down = gain.to_db(torch.full((3,), -50.0), base)
    assert up.tolist() == pytest.approx([6.0, 15.0, -18.0])
    assert down.tolist() == pytest.approx([-18.0, -9.0, -40.0])  # the range still clamps


def test_slew_never_steps_beyond_the_limit_and_still_arrives() -> None:
    wanted = torch.tensor([[20.0] * 40 + [-30.0] * 60 + [0.5] * 40])
    g = slew(wanted, 1.2, None)
    steps = torch.diff(torch.cat([torch.zeros(1, 1), g], dim=1)).abs()
    assert float(steps.max()) <= 1.2 + 1e-6
    assert float(steps.max()) > 1.1  # a 20 dB jump does use (almost) the whole step
    assert float(g[0, 39]) == pytest.approx(20.0, abs=0.05)
    assert float(g[0, 99]) == pytest.approx(-30.0, abs=0.05)
    assert float(g[0, -1]) == pytest.approx(0.5, abs=1e-3)
    start = slew(wanted[:, :1], 1.2, torch.tensor([19.5]))
    assert float(start[0, 0]) == pytest.approx(19.5 + 1.2 * np.tanh(0.5 / 1.2))


def test_slew_passes_gradient_while_it_limits() -> None:
    """A 2.4 dB wish is limited to ~1.15 dB on the first frame, and its logit still learns."""
    z = torch.full((1, 2, 10), 0.2, requires_grad=True)
    g = output_db(SLEWED, z, torch.zeros(1, 2, 10))
    assert 1.0 < float(g[0, 0, 0].detach()) < 1.2 < float(12.0 * np.tanh(0.2))
    g[..., 0].sum().backward()
    assert z.grad is not None and bool((z.grad[..., 0] > 0.01).all())


def test_base_levels_are_the_autofader_streamed_in_50ms_blocks() -> None:
    audio = band(4, 3.0, seed=5)
    levels = autofader_levels(audio)
    assert np.allclose(levels, autofader_per_hop(audio), atol=1e-5)
    assert np.ptp(levels) > 1.0  # the auto-fader does move here
    sr = frame_base_db(levels, ALMConfig(mode="sr").geometry, 3)  # 975 ms = 19.5 blocks
    assert np.allclose(sr[:, 0].numpy(), levels[:, 18])
    assert np.allclose(sr[:, 2].numpy(), levels[:, 57])


def test_an_untrained_corrector_is_exactly_the_autofader() -> None:
    torch.manual_seed(2)
    gain = GainRange(min_db=-40.0, max_db=24.0, base="autofader")
    model = ALMNet(StudentEmbedding(), ALMConfig(gain=gain)).eval()
    audio = band(5, 4.0, seed=6)
    gains = stream(StreamingMixer(model), audio)
    assert np.abs(gains - autofader_per_hop(audio)).max() < 1e-5


@pytest.mark.parametrize(("kind", "mode"), [("alm", "mr"), ("alm", "sr"), ("dmc", "sr")])
def test_streaming_reproduces_the_offline_corrected_slewed_gains(kind: str, mode: str) -> None:
    model = corrected(kind, mode, SLEWED, seed=3)
    audio = band(6, 6.0, seed=7)
    gains = stream(StreamingMixer(model), audio)
    with torch.no_grad():
        db = offline_gains_db(model, torch.from_numpy(audio)[None]).numpy()
    frame = model.geometry.frame
    reference = np.zeros_like(gains)
    for h in range(gains.shape[1]):
        k = (h + 1) * HOP // frame  # frames completed by the end of hop h
        reference[:, h] = db[:, k - 1] if k else 0.0
    assert np.abs(gains - reference).max() <= 1e-5
    assert np.ptp(gains - autofader_per_hop(audio)) > 0.5  # the correction does something
    steps = np.abs(np.diff(np.concatenate([np.zeros((6, 1)), gains], axis=1), axis=1))
    assert steps.max() <= 1.2 + 1e-9


def test_odd_hop_sizes_give_the_same_gains() -> None:
    """The auto-fader is fed whole 50 ms blocks whatever the engine's hop: 25 ms hops agree at
    every 50 ms boundary."""
    model = corrected("alm", "mr", SLEWED, seed=4)
    audio = band(3, 3.0, seed=8)
    full = stream(StreamingMixer(model), audio)
    half = stream(StreamingMixer(model), audio, hop=1200)
    assert np.abs(half[:, 1::2] - full).max() <= 1e-5


@pytest.mark.parametrize(
    "gain",
    [
        SLEWED,
        GainRange(min_db=-40.0, max_db=24.0, max_step_db=1.2),
        GainRange(min_db=-40.0, max_db=12.0),
        GainRange(output="relu_linear", min_db=-40.0, max_db=12.0, max_step_db=0.5),
    ],
    ids=["base-slewed", "bounded-slewed", "bounded", "relu-slewed"],
)
def test_the_streaming_runners_numpy_output_is_the_torch_output_frame_by_frame(
    gain: GainRange,
) -> None:
    # The live runner steps one frame at a time in numpy; training and evaluation run the
    # torch version over whole sequences. Logits far out in both tails and near 0 included.
    rng = np.random.default_rng(3)
    z = rng.normal(scale=4.0, size=(6, 50))
    z[:, ::7] = 0.0
    z[0, :] = np.linspace(-30.0, 30.0, 50)
    base = rng.normal(scale=10.0, size=(6, 50)) if gain.has_base else None
    want = output_db(gain, torch.from_numpy(z), None if base is None else torch.from_numpy(base))
    prev = np.zeros(6)
    for t in range(z.shape[1]):
        prev = output_db_frame(gain, z[:, t], None if base is None else base[:, t], prev)
        np.testing.assert_allclose(prev, want[:, t].numpy(), rtol=0, atol=1e-9)
    if gain.has_base:
        with pytest.raises(ValueError, match="pass base_db"):
            output_db_frame(gain, z[:, 0], None, prev)
