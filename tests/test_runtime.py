"""The inference runtime: the exported (ONNX Runtime) runner gives the torch runner's gains on a
whole song, its exports are cached by the weights, and without onnxruntime (or with a graph it
cannot export) the runner falls back to torch with one log line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import models.runtime as runtime
from models.checkpoint import load_model
from models.gainsource import checkpoint_path
from models.inference import StreamingMixer, untrained_model
from models.runtime import cache_dir, compile_for
from models.song import load_song
from tests.test_demo_song import SONG_DIR
from tests.test_streaming import band, stream


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return cache_dir()


@pytest.mark.parametrize("name", ["alm-mr", "dmc-og"])
def test_onnx_runner_matches_the_torch_runner_over_the_demo_song(name: str) -> None:
    model = load_model(checkpoint_path(name))
    audio = load_song(SONG_DIR, with_target=False).audio  # 8 channels, 24 s
    exported = StreamingMixer(model, name, runtime="onnx")
    gains = stream(exported, audio)
    assert exported.active_runtime == "onnx"
    reference = stream(StreamingMixer(model, name, runtime="eager"), audio)
    assert gains.shape == reference.shape == (8, audio.shape[1] // 2400)
    assert np.abs(gains - reference).max() <= 0.01
    assert np.ptp(reference, axis=1).min() > 0.5  # every fader moves: not a comparison of 0 dB


def test_exports_are_cached_by_the_weights(cache: Path) -> None:
    model = untrained_model("alm", "mr", seed=5)
    audio = band(3, 1.0)
    first = stream(StreamingMixer(model, runtime="onnx"), audio)
    files = sorted(p.name for p in cache.glob("*.onnx"))
    assert len(files) == 2  # the per-frame graph for 3 channels and the embedding
    again = StreamingMixer(model, runtime="onnx")
    assert np.array_equal(stream(again, audio), first)  # read back from the cache
    assert sorted(p.name for p in cache.glob("*.onnx")) == files
    with torch.no_grad():
        model.mlp[0].bias.add_(0.5)  # new weights: a new export, never the stale file
    changed = stream(StreamingMixer(model, runtime="onnx"), audio)
    assert len(list(cache.glob("*.onnx"))) == 4
    assert np.abs(changed - stream(StreamingMixer(model, runtime="eager"), audio)).max() <= 1e-3
    assert not np.allclose(changed, first)


def test_an_unwritable_cache_still_runs_onnx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    mixer = StreamingMixer(untrained_model("alm", "mr"), runtime="onnx")
    mixer.reset(2, 48_000)
    assert mixer.active_runtime == "onnx"


def test_without_onnxruntime_the_runner_falls_back_to_torch_with_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails
    monkeypatch.setattr(runtime, "_said", set())
    mixer = StreamingMixer(untrained_model("alm", "mr", seed=2))
    with caplog.at_level(logging.INFO, logger="models.runtime"):
        gains = stream(mixer, band(2, 1.0))
        stream(mixer, band(2, 1.0))
    assert mixer.active_runtime == "jit"
    assert np.isfinite(gains).all()
    lines = [r.getMessage() for r in caplog.records if r.name == "models.runtime"]
    assert lines == ["onnxruntime is not installed: the model runs on torch.jit"]


class _NoOnnxForm(nn.Module):
    """An op the ONNX exporter has no form for (rfft at opset 17)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft(x).abs()


def test_a_failed_export_falls_back_to_torch(
    cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "_said", set())
    x = torch.randn(3, 16)
    with caplog.at_level(logging.WARNING, logger="models.runtime"):
        fn, used = compile_for("auto", _NoOnnxForm(), (x,), "no-onnx-form")
    assert used == "jit"
    assert torch.allclose(fn(x), torch.fft.rfft(x).abs())
    records = [r for r in caplog.records if r.name == "models.runtime"]
    assert len(records) == 1 and "aten::fft_rfft" in records[0].getMessage()
    assert "\n" not in records[0].getMessage()
    assert not list(cache.glob("*.onnx"))


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="runtime must be one of"):
        StreamingMixer(untrained_model("alm", "mr"), runtime="tensorrt")
