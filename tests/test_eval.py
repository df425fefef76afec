"""Evaluation: metrics on hand-made cases, the oracle gain source, `ailive eval` end to end,
and the shipped checkpoints behind the registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bridge.cli import main
from models.eval import metrics as m
from models.eval.balance import BalanceTruth, balance_errors, target_levels
from models.eval.systems import OracleGains, stream_gains
from models.gainsource import (
    GAIN_SOURCES,
    SHIPPED,
    checkpoint_path,
    default_gain_source_name,
    make_gain_source,
)
from models.train.losses import FLOOR_DBFS
from tests.tiny_data import tiny_dataset

RATE, HOP = 48_000, 2400


def sources(n_sources: int = 2, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((n_sources, int(RATE * seconds)))).astype(np.float32)


def no_bleed_truth(src: np.ndarray, roles: list[str] | None = None) -> BalanceTruth:
    """Source s only in channel s; the target carries each source at unity."""
    contributions = np.zeros((len(src), *src.shape), dtype=np.float32)
    for s in range(len(src)):
        contributions[s, s] = src[s]
    roles = roles or ["other"] * len(src)
    return BalanceTruth([f"s{i}" for i in range(len(src))], roles, contributions, src.copy())


def test_mrstft_scores_are_the_training_loss_and_level_matching_ignores_a_gain() -> None:
    src = sources(3, seconds=2.0)
    target = src.sum(axis=0)
    mix = src[0] + 0.3 * src[1] + 2.0 * src[2]
    spectra = m.TargetSpectra(target, RATE)
    got = spectra.scores(mix, FLOOR_DBFS)
    assert got["mrstft"] == pytest.approx(m.mrstft_distance(mix, target), rel=1e-5)
    assert got["mrstft_floor"] == pytest.approx(
        m.mrstft_distance(mix, target, FLOOR_DBFS), rel=1e-5
    )
    assert got["mrstft_matched"] == pytest.approx(
        m.mrstft_distance(got["match_gain"] * mix, target), rel=1e-5
    )
    quiet = spectra.scores(mix * 10 ** (-10 / 20), FLOOR_DBFS)
    assert quiet["mrstft_matched"] == pytest.approx(got["mrstft_matched"], rel=1e-4)
    assert quiet["mrstft"] > got["mrstft"] + 0.3  # unmatched, turning down is punished
    assert spectra.scores(target, FLOOR_DBFS)["mrstft_matched"] == pytest.approx(0.0, abs=1e-6)
    lufs = m.loudness_lufs(mix * 10 ** (-10 / 20), RATE) - m.loudness_lufs(mix, RATE)
    assert lufs == pytest.approx(-10.0, abs=0.01)


def test_balance_is_zero_for_the_targets_own_mix_and_for_it_turned_down() -> None:
    src = sources(3, seconds=2.0)
    truth = no_bleed_truth(src)
    levels = target_levels(truth, RATE)
    curve = np.ones_like(src, dtype=np.float64)
    assert np.allclose(balance_errors(truth, levels, curve, RATE), 0.0, atol=1e-6)
    quiet = curve * 10 ** (-10 / 20)
    assert np.allclose(balance_errors(truth, levels, quiet, RATE), 0.0, atol=1e-6)


def test_six_db_too_loud_on_one_source_reads_plus_six_before_the_offset() -> None:
    src = sources(3, seconds=2.0)
    truth = no_bleed_truth(src)
    curve = np.ones_like(src, dtype=np.float64)
    curve[1] *= 10 ** (6 / 20)
    errs = balance_errors(truth, target_levels(truth, RATE), curve, RATE)
    # +6 dB on one of three sources: the mix-wide offset is +2 dB
    assert errs == pytest.approx([-2.0, 4.0, -2.0], abs=1e-4)


def test_balance_counts_a_source_only_where_it_plays_in_the_target() -> None:
    src = sources(2, seconds=3.0)
    src[1, : RATE * 2] = 0.0  # source 1 plays only in the last second
    truth = no_bleed_truth(src)
    curve = np.ones_like(src, dtype=np.float64)
    curve[1, : RATE * 2] = 10.0  # loud where the source is silent: inaudible, no error
    errs = balance_errors(truth, target_levels(truth, RATE), curve, RATE)
    assert np.allclose(errs, 0.0, atol=0.05)


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
    systems = ["raw", "autofader", "gainsharing", "oracle", "static-oracle", "slew-oracle"]
    out = tmp_path / "eval"
    rc = main(["eval", "--data", str(data), "--systems", ",".join(systems), "--out", str(out),
               "--examples", "1"])  # fmt: skip
    assert rc == 0
    text = (out / "results.md").read_text()
    assert (
        "| system | MR-STFT (level-matched) | gap closed | MR-STFT | MR-STFT -60 | LUFS diff |"
        " balance med dB | balance p90 dB | gain err dB | dB/s | max step dB | clipping |" in text
    )
    assert all(f"| {s} |" in text for s in systems) and "| system | lead |" in text
    assert "FLAGGED" not in text
    result = json.loads((out / "results.json").read_text())
    summary = result["summary"]
    assert set(summary) == set(systems) and len(result["songs"]) == 1 and not result["flagged"]
    raw, oracle = summary["raw"], summary["oracle"]
    static, slew = summary["static-oracle"], summary["slew-oracle"]
    assert oracle["gain_error_db"] == pytest.approx(0.0, abs=1e-3)
    for ceiling in (oracle, static, slew):
        assert ceiling["mrstft_matched"] < raw["mrstft_matched"]
        assert ceiling["balance_median_db"] < raw["balance_median_db"]
    assert raw["gap_closed"] == 0.0 and static["gap_closed"] == 1.0
    assert oracle["mrstft_matched"] <= slew["mrstft_matched"] + 0.02
    assert slew["largest_step_db"] <= 1.2 + 1e-6  # the product's 24 dB/s at 50 ms
    assert raw["largest_step_db"] == 0.0 and static["largest_step_db"] == 0.0
    assert raw["balance_p90_db"] >= raw["balance_median_db"] > 0
    assert {"lead", "kick", "bass"} <= set(raw["balance_roles_db"])
    assert all(s["lufs_diff"] is not None for s in summary.values())
    song = result["songs"][0]
    assert (out / "plots" / f"{song}.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.stem for p in (out / "mixes" / song).glob("*.wav")} == {*systems, "target"}
    assert "| slew-oracle |" in capsys.readouterr().out


def test_balance_of_the_target_gains_on_clean_channels_is_zero(data: Path) -> None:
    """A real song: the clean channels at the target's own gains are the target, balance 0."""
    from models.data.store import read_song_data
    from models.data.targets import gain_curve
    from models.eval.run import balance_truth, find_songs

    song = read_song_data(find_songs(data, "test")[0])
    truth = balance_truth(song)
    assert truth is not None and truth.roles == [c.role for c in song.song.meta.channels]
    clean = song.clean()
    contributions = np.zeros((len(clean), *clean.shape), dtype=np.float32)
    for s in range(len(clean)):
        contributions[s, s] = clean[s]
    own = BalanceTruth(truth.names, truth.roles, contributions, truth.target)
    assert song.target_gains_db is not None
    curve = gain_curve(song.target_gains_db, clean.shape[1], song.hop)
    levels = target_levels(own, RATE)
    assert np.nanmax(np.abs(balance_errors(own, levels, curve, RATE))) < 1e-3
    # with the bleed the channels carry, the same gains are no longer exact
    bled = balance_errors(truth, target_levels(truth, RATE), curve, RATE)
    assert np.nanmax(np.abs(bled)) > 0.1


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


def test_taste_rows_are_the_engineers_gains_and_its_rules_without_the_songs_draws(
    data: Path,
) -> None:
    """ideal-gains is the training target as channel faders; taste-mean the song's engineer's
    table with every per-song draw at its mean (the lead at 0 dB, the rest at their table level
    plus the style's offset and the mean band offset, no jitter, no fade)."""
    from models.data.store import read_song_data
    from models.data.styles import STYLES
    from models.data.targets import ENGINEERS
    from models.eval.run import find_songs, oracle_gains, read_truth
    from models.eval.taste import mean_rules
    from models.train.features import load_training_song

    folder = find_songs(data, "test")[0]
    song = read_song_data(folder)
    truth = read_truth(folder)
    _, _, ideal = load_training_song(folder, bleed=True)
    assert ideal is not None
    assert np.array_equal(oracle_gains(truth, "ideal-gains"), ideal)
    extra = song.song.meta.extra
    roles = [c.role for c in song.song.meta.channels]
    rules = mean_rules(roles, extra["style"], "first")
    e, offsets = ENGINEERS["first"], STYLES[extra["style"]].mix_offsets_db
    for role, level in zip(roles, rules.levels_db, strict=True):
        want = 0.0 if role == "lead" else (e.role_levels_db.get(role, e.role_levels_db["other"])
                                           + offsets.get(role, 0.0))  # fmt: skip
        assert level == pytest.approx(want)
    assert rules.fade_s == 0.0 and rules.chorus_lift_db == pytest.approx(1.0)
    assert extra["target_rules"]["engineer"] == "first"  # so both taste rows are one table
    mean, first = oracle_gains(truth, "taste-mean"), oracle_gains(truth, "first-taste")
    assert mean is not None and first is not None and np.array_equal(mean, first)
    assert mean.shape == ideal.shape
    assert not np.allclose(mean - mean.mean(), ideal - ideal.mean(), atol=0.5)  # no draws
    # Imported songs have no rules: no taste rows (oracle_gains gives None, the row is skipped).
    truth.taste = {}
    assert oracle_gains(truth, "taste-mean") is None
