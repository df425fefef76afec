"""The streaming runner's hot path (issue 16): the numpy log-mel is the torch one, the mel ring
and the sample buffer hold whatever hop sizes come, the NaN/Inf check found on the way still
refuses bad audio (and only bad audio), and an export of an older graph form is never run."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from models.embedding.frontend import CausalLogMel
from models.embedding.student import StudentEmbedding
from models.gainsource import InputAudioError
from models.inference import GRAPHS, StreamingMixer, untrained_model
from models.runtime import cache_dir
from tests.test_streaming import band, offline_per_hop, stream


@pytest.mark.parametrize("frontend", [StudentEmbedding().frontend(), CausalLogMel()])
def test_the_numpy_log_mel_is_the_torch_one(frontend: CausalLogMel) -> None:
    rng = np.random.default_rng(1)
    x = (0.2 * rng.standard_normal((5, frontend.context + 7 * frontend.hop))).astype(np.float32)
    want = frontend.frames_from(torch.from_numpy(x)).numpy()  # (c, n_mels, k)
    got = frontend.frames_np(x)  # (c, k, n_mels)
    assert got.shape == (5, 7, frontend.n_mels) and got.dtype == np.float32
    assert np.abs(got.transpose(0, 2, 1) - want).max() <= 1e-5
    assert np.ptp(got) > 1.0  # real spectra, not a constant


def test_the_numpy_log_mel_keeps_its_buffers_per_thread() -> None:
    """Two runners on two threads share a front-end (the benchmark and the engine can): each
    thread's frames are its own audio's, whatever the other thread frames at the same time."""
    frontend = CausalLogMel()
    rng = np.random.default_rng(2)
    shape = (3, frontend.context + 5 * frontend.hop)
    signals = [(0.2 * rng.standard_normal(shape)).astype(np.float32) for _ in range(2)]
    want = [frontend.frames_from(torch.from_numpy(x)).numpy().transpose(0, 2, 1) for x in signals]
    worst = [0.0, 0.0]
    start = threading.Barrier(2)

    def frame(k: int) -> None:
        start.wait()
        for _ in range(200):
            worst[k] = max(worst[k], float(np.abs(frontend.frames_np(signals[k]) - want[k]).max()))

    threads = [threading.Thread(target=frame, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(worst) <= 1e-5
    assert np.abs(want[0] - want[1]).max() > 0.5  # the two signals' frames differ


@pytest.mark.parametrize("hop", [1000, 4800, 333])
def test_odd_hop_sizes_still_reproduce_the_offline_pass(hop: int) -> None:
    """Hops that end mid mel frame, span two F2 frames or are tiny: the ring and the buffer
    of samples not yet framed carry across them (3.5 s: the 96-frame ring wraps 3 times)."""
    model = untrained_model("alm", "mr", seed=4)
    audio = band(4, 3.5, seed=5)
    gains = stream(StreamingMixer(model, runtime="eager"), audio, hop=hop)
    reference = offline_per_hop(model, audio, hop=hop)
    assert gains.shape == reference.shape
    assert np.abs(gains - reference).max() <= 1e-5
    assert np.ptp(gains) > 0


def test_nan_and_inf_are_refused_and_loud_finite_audio_is_not() -> None:
    mixer = StreamingMixer(untrained_model("alm", "mr"), runtime="eager")
    fresh = StreamingMixer(untrained_model("alm", "mr"), runtime="eager")
    mixer.reset(2, 48_000)
    fresh.reset(2, 48_000)
    quiet = np.full((2, 2400), 0.01, np.float32)
    for bad in (np.nan, np.inf, -np.inf):
        hop = quiet.copy()
        hop[1, 100] = bad
        with pytest.raises(InputAudioError, match="NaN or Inf"):
            mixer.step(hop)
    # the refused hops changed nothing: both runners are in the same state
    for _ in range(8):
        assert np.array_equal(mixer.step(quiet), fresh.step(quiet))
    loud = quiet.copy()
    loud[0, 5] = 1e30  # finite, but its square is past float32's range: not refused
    with np.errstate(over="ignore", invalid="ignore"):
        assert mixer.step(loud).shape == (2,)


def test_an_export_of_an_older_graph_form_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    model = untrained_model("alm", "mr", seed=6)
    audio = band(3, 1.0)
    first = stream(StreamingMixer(model, runtime="onnx"), audio)
    names = sorted(p.name for p in cache_dir().glob("*.onnx"))
    assert len(names) == 2 and all(f"-{GRAPHS}-" in name for name in names)
    # Files under the names an export of the older form had (no graph form in the key) are
    # not read: a broken file there changes nothing and the runner still runs ONNX.
    for name in names:
        (cache_dir() / name.replace(f"-{GRAPHS}-", "-")).write_bytes(b"not a graph")
    again = StreamingMixer(model, runtime="onnx")
    assert np.array_equal(stream(again, audio), first)
    assert again.active_runtime == "onnx"
