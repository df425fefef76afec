"""Evaluation: metrics on hand-made cases, the oracle gain source, `ailive eval` end to end,
and the shipped checkpoints behind the registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bridge.cli import main
from models.eval import metrics as m
from models.eval.systems import OracleGains, stream_gains
from models.gainsource import (
    GAIN_SOURCES,
    SHIPPED,
    checkpoint_path,
    default_gain_source_name,
    make_gain_source,
)
from tests.tiny_data import tiny_dataset

RATE, HOP = 48_000, 2400


def sources(n_sources: int = 2, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((n_sources, int(RATE * seconds)))).astype(np.float32)


def no_bleed_images(src: np.ndarray) -> np.ndarray:
    """(C, S, n): source s only in channel s."""
    images = np.zeros((len(src), *src.shape), dtype=np.float32)
    for s in range(len(src)):
        images[s, s] = src[s]
    return images


def test_a_mix_equal_to_the_target_scores_zero() -> None:
    src = sources()
    curve = np.ones_like(src, dtype=np.float64)
    mix = m.mix_with(src, curve)
    assert m.mrstft_distance(mix, src.sum(axis=0)) == pytest.approx(0.0, abs=1e-6)
    errs = m.balance_errors_db(no_bleed_images(src), curve, src)
    assert np.allclose(errs, 0.0, atol=1e-6)


def test_six_db_too_loud_on_one_source_reads_plus_six() -> None:
    src = sources(3)
    curve = np.ones_like(src, dtype=np.float64)
    curve[1] *= 10 ** (6 / 20)
    errs = m.balance_errors_db(no_bleed_images(src), curve, src)
    assert errs[1] == pytest.approx(6.0, abs=1e-4)
    assert np.allclose(errs[[0, 2]], 0.0, atol=1e-4)
    mix = m.mix_with(src, curve)
    assert m.mrstft_distance(mix, src.sum(axis=0)) > 0.05


def test_a_three_db_step_is_the_largest_step() -> None:
    gains = np.zeros((40, 2))
    gains[20:, 1] = -3.0
    per_second, largest = m.smoothness(gains, HOP / RATE)
    assert largest == pytest.approx(3.0)
    # one 3 dB move on one of two channels over 39 frame changes of 50 ms
    assert per_second == pytest.approx(3.0 / 2 / (39 * 0.05))


def test_gain_error_compares_the_gain_in_force_with_the_oracle() -> None:
    oracle = np.tile(np.array([[-6.0, 3.0]]), (10, 1))
    predicted = oracle.copy()  # predicted from frame t, in force on frame t+1
    assert m.gain_error_db(m.applied_db(predicted), oracle) == pytest.approx(0.0)
    assert m.gain_error_db(m.applied_db(predicted + 2.0), oracle) == pytest.approx(2.0)
    deep = np.full((10, 2), -80.0)  # below the metric range: -80 and -40 read the same
    assert m.gain_error_db(np.full((10, 2), -40.0), deep) == pytest.approx(0.0)


def test_clipping_share_counts_samples_at_full_scale() -> None:
    mix = np.array([0.0, 0.5, 1.0, -1.2, 0.99])
    assert m.clipping_share(mix) == pytest.approx(2 / 5)


def test_gain_curve_is_zero_latency() -> None:
    predicted = np.array([[6.0], [6.0], [6.0]])
    curve = m.gain_curve(predicted, HOP, 3 * HOP)
    assert np.allclose(curve[0, :HOP], 1.0)  # frame 0: nothing predicted yet
    assert curve[0, 2 * HOP - 1] == pytest.approx(10 ** (6 / 20))


def test_oracle_source_returns_the_next_frames_gains() -> None:
    frame_db = np.arange(12, dtype=np.float64).reshape(6, 2)
    oracle = OracleGains(frame_db)
    got = stream_gains(oracle, np.zeros((2, 6 * HOP), dtype=np.float32), HOP, RATE)
    assert np.array_equal(got[:5], frame_db[1:6]) and np.array_equal(got[5], frame_db[5])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory)


def test_ailive_eval_writes_tables_plots_and_mixes(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    systems = ["raw", "autofader", "gainsharing", "oracle"]
    out = tmp_path / "eval"
    rc = main(["eval", "--data", str(data), "--systems", ",".join(systems), "--out", str(out),
               "--examples", "1"])  # fmt: skip
    assert rc == 0
    text = (out / "results.md").read_text()
    assert "| system | MR-STFT |" in text and all(f"| {s} |" in text for s in systems)
    result = json.loads((out / "results.json").read_text())
    summary = result["summary"]
    assert set(summary) == set(systems) and len(result["songs"]) == 1
    assert summary["oracle"]["gain_error_db"] == pytest.approx(0.0, abs=1e-3)
    assert summary["oracle"]["mrstft"] < summary["raw"]["mrstft"]
    assert summary["raw"]["gap_closed"] == 0.0 and summary["oracle"]["gap_closed"] == 1.0
    assert summary["oracle"]["balance_median_db"] < summary["raw"]["balance_median_db"]
    assert summary["raw"]["largest_step_db"] == 0.0
    song = result["songs"][0]
    assert (out / "plots" / f"{song}.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.stem for p in (out / "mixes" / song).glob("*.wav")} == {*systems, "target"}
    assert "| oracle |" in capsys.readouterr().out


def test_ailive_eval_names_an_unknown_system(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--data", str(data), "--systems", "raw,nope", "--out", str(tmp_path)]) == 2
    assert "unknown system(s) nope" in capsys.readouterr().err


def test_registry_names_the_shipped_models() -> None:
    assert set(SHIPPED) <= set(GAIN_SOURCES)
    expected = "alm-mr" if checkpoint_path("alm-mr").is_file() else "autofader"
    assert default_gain_source_name() == expected


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_load_and_stream(name: str) -> None:
    path = checkpoint_path(name)
    if not path.is_file():
        pytest.skip(f"{path} is not shipped in this checkout")
    assert path.stat().st_size < 10 * 2**20
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["embedding"].get("distilled_from") == "mn04"
    assert any("EfficientAT" in note for note in meta["licence"])
    source = make_gain_source(name)
    audio = sources(4, seconds=1.5, seed=3)
    gains = stream_gains(source, audio, HOP, RATE)
    assert gains.shape == (30, 4) and np.isfinite(gains).all()
