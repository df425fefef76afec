"""The streaming runner reproduces the offline forward pass, hop by hop, and runs in the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bridge.engine import Engine
from bridge.sources import FileSource
from models.alm import offline_forward
from models.alm.config import ALMConfig
from models.alm.network import ALMNet
from models.dmc import DMCNet
from models.embedding.student import StudentEmbedding
from models.gainsource import GAIN_SOURCES, InputAudioError, make_gain_source
from models.inference import StreamingMixer, untrained_model
from tests.conftest import tone_song

RATE = 48_000
HOP = 2400


def band(channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts and tones at different levels, with rests: (channels, samples) float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rows = []
    for c in range(channels):
        x = rng.standard_normal(n) * (rng.random() < 0.5) + np.sin(2 * np.pi * 110 * (c + 1) * t)
        gate = (np.sin(2 * np.pi * t * rng.uniform(0.2, 2.0)) > -0.3).astype(float)
        rows.append(x * gate * 10 ** (rng.uniform(-40, -6) / 20))
    audio = np.stack(rows).astype(np.float32)
    audio[-1, : n // 3] = 0.0  # a channel that starts silent
    return audio


def stream(mixer: StreamingMixer, audio: np.ndarray, hop: int = HOP) -> np.ndarray:
    """Gains returned after each hop: (channels, hops)."""
    mixer.reset(audio.shape[0], RATE)
    return np.stack(
        [mixer.step(audio[:, k : k + hop]) for k in range(0, audio.shape[1] - hop + 1, hop)], 1
    )


def offline_per_hop(model: ALMNet | DMCNet, audio: np.ndarray, hop: int = HOP) -> np.ndarray:
    """The offline gains in force at the start of each next hop (0 dB before the first frame)."""
    with torch.no_grad():
        z, _ = offline_forward(model, torch.from_numpy(audio)[None])
    db = model.gain.to_db(z[0].double()).numpy()
    frame = model.geometry.frame
    n_hops = audio.shape[1] // hop
    out = np.zeros((audio.shape[0], n_hops))
    for h in range(n_hops):
        k = (h + 1) * hop // frame  # frames completed by the end of hop h
        out[:, h] = db[:, k - 1] if k else 0.0
    return out


@pytest.mark.parametrize(
    ("kind", "mode", "runtime"),
    [
        ("alm", "mr", "onnx"),
        ("alm", "mr", "jit"),
        ("alm", "mr", "eager"),
        ("alm", "sr", "onnx"),
        ("dmc", "sr", "onnx"),
        ("dmc", "sr", "jit"),
    ],
)
def test_streaming_reproduces_the_offline_pass(kind: str, mode: str, runtime: str) -> None:
    model = untrained_model(kind, mode, seed=3)
    audio = band(6, 7.0)  # 7 s: the mel buffer is compacted once on the way
    mixer = StreamingMixer(model, runtime=runtime)
    gains = stream(mixer, audio)
    assert mixer.active_runtime == runtime
    reference = offline_per_hop(model, audio)
    assert gains.shape == reference.shape == (6, 140)
    assert np.abs(gains - reference).max() <= 1e-5
    assert np.ptp(gains) > 0  # the gains do move: the comparison is not of constants


def test_sync_refresh_and_other_hop_sizes_match_too() -> None:
    """Paper-style sync refresh, fed 25 ms hops: gains in force at each hop's end still agree."""
    torch.manual_seed(1)
    model = ALMNet(StudentEmbedding(), ALMConfig(refresh="sync")).eval()
    audio = band(3, 3.0, seed=2)
    gains = stream(StreamingMixer(model), audio, hop=1200)
    assert np.abs(gains - offline_per_hop(model, audio, hop=1200)).max() <= 1e-5


def test_reset_forgets_everything() -> None:
    mixer = StreamingMixer(untrained_model("alm", "mr"))
    audio = band(4, 2.0, seed=4)
    first = stream(mixer, audio)
    stream(mixer, band(4, 2.0, seed=9))
    assert np.array_equal(stream(mixer, audio), first)


def test_bad_input_is_rejected_with_clear_errors() -> None:
    mixer = StreamingMixer(untrained_model("alm", "mr"))
    with pytest.raises(InputAudioError, match="48000 Hz"):
        mixer.reset(2, 44_100)
    mixer.reset(2, RATE)
    hop = np.zeros((2, HOP), np.float32)
    hop[1, 7] = np.nan
    with pytest.raises(InputAudioError, match="NaN or Inf"):
        mixer.step(hop)
    with pytest.raises(InputAudioError, match="channel-count mismatch"):
        mixer.step(np.zeros((3, HOP), np.float32))


def test_silence_gives_finite_gains() -> None:
    mixer = StreamingMixer(untrained_model("alm", "mr"))
    gains = stream(mixer, np.zeros((3, 20 * HOP), np.float32))
    assert np.isfinite(gains).all()


def test_untrained_models_are_registered_and_run_in_the_engine() -> None:
    assert {"alm-mr-untrained", "alm-sr-untrained", "dmc-untrained"} <= set(GAIN_SOURCES)
    song = tone_song([-20.0, -30.0, -26.0], seconds=2.0)
    source = make_gain_source("alm-mr-untrained")
    stats = Engine(FileSource(song, realtime=False), source, deadline_s=10.0).run()
    assert stats.hops == 40 and stats.faults == 0 and stats.misses == 0
