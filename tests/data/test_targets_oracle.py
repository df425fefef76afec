"""Targets (rules, rides, fade-out, the mix) and oracle gains (per frame and static)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.mixdown import DirectMixer
from models.data.oracle import oracle_gains, oracle_report, snr_db
from models.data.targets import (
    FADE_DEPTH_DB,
    LEAD_RIDE_MAX_DB,
    ROLE_LEVELS_DB,
    TargetRules,
    apply_gains,
    draw_rules,
    gain_curve,
    make_target,
    target_gains_db,
)
from tests.data.conftest import RATE, assert_target_level, needs_render, noise_sources

HOP = 2400
ROLES = ["kick", "bass", "rhythm", "solo", "lead"]
SECTIONS = [
    {"name": "verse", "start_s": 0.0, "end_s": 2.0},
    {"name": "solo", "start_s": 2.0, "end_s": 4.0},
    {"name": "outro", "start_s": 4.0, "end_s": 6.0},
]


def test_gain_curve_applies_gains_like_the_bridge_direct_mixer() -> None:
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((3, 10 * HOP)).astype(np.float32)
    gains = rng.uniform(-20, 6, (10, 3))
    mixer = DirectMixer(3, initial_db=gains[0])
    live = np.concatenate(
        [mixer.process(audio[:, t * HOP : (t + 1) * HOP], gains[t]) for t in range(10)]
    )
    np.testing.assert_allclose(apply_gains(audio, gains, HOP), live, rtol=1e-5, atol=1e-5)
    curve = gain_curve(gains, 10 * HOP, HOP)
    np.testing.assert_allclose(curve[:, HOP - 1 :: HOP].T, 10 ** (gains / 20), rtol=1e-12)


def _rules(fade_s: float = 0.0) -> TargetRules:
    levels = [ROLE_LEVELS_DB[r] for r in ROLES]
    return TargetRules(
        levels, solo_ride_db=5.0, chorus_lift_db=1.0, lead_ride_depth=0.5, fade_s=fade_s
    )


def test_rules_set_levels_rides_and_fade() -> None:
    src = noise_sources(len(ROLES), 6.0, seed=1)
    gains = target_gains_db(src, ROLES, SECTIONS, _rules(fade_s=2.0), RATE, soloist=3, hop=HOP)
    assert gains.shape == (6 * RATE // HOP, len(ROLES))
    t = (np.arange(len(gains)) * HOP + HOP - 1) / RATE
    verse, solo = (t > 0.5) & (t < 1.5), (t > 2.8) & (t < 3.6)
    ride = gains[solo, 3].mean() - gains[verse, 3].mean()
    assert ride == pytest.approx(5.0, abs=0.01), "the soloist comes up in the solo"
    assert np.ptp(gains[verse | solo][:, 1]) < 1e-9, "the bass holds still"
    assert gains[-1, 0] - gains[verse, 0].mean() == pytest.approx(-FADE_DEPTH_DB, abs=1.0)
    lead = gains[t < 3.9, 4] - gains[0, 4]
    assert np.max(np.abs(lead)) <= LEAD_RIDE_MAX_DB + 1e-9
    # Static levels: each source's active RMS lands at its rule level (lead ride aside).
    mix_levels = [gains[verse, s].mean() for s in range(4)]
    rms = [20 * np.log10(np.sqrt(np.mean(x[x != 0] ** 2))) for x in src]
    assert [m + r for m, r in zip(mix_levels, rms, strict=False)] == pytest.approx(
        [ROLE_LEVELS_DB[r] for r in ROLES[:4]], abs=1.0
    )


def test_drawn_rules_vary_per_song_within_the_table() -> None:
    a = draw_rules(ROLES, {"bass": 2.0}, np.random.default_rng(1))
    b = draw_rules(ROLES, {"bass": 2.0}, np.random.default_rng(2))
    assert a.levels_db != b.levels_db
    for rules in (a, b):
        assert rules.levels_db[ROLES.index("lead")] == 0.0
        assert 3.0 <= rules.solo_ride_db <= 6.0
        bass = rules.levels_db[ROLES.index("bass")]
        assert abs(bass - (ROLE_LEVELS_DB["bass"] + 2.0)) <= 2.0 + 3.0


def test_target_mix_is_the_sum_of_gained_sources_and_peaks_at_minus_1() -> None:
    src = noise_sources(len(ROLES), 6.0, seed=2)
    gains = target_gains_db(src, ROLES, SECTIONS, _rules(), RATE, soloist=3, hop=HOP)
    mix, folded = make_target(src, gains, HOP)
    assert 20 * np.log10(np.max(np.abs(mix))) == pytest.approx(-1.0, abs=0.01)
    np.testing.assert_allclose(apply_gains(src, folded, HOP), mix, atol=1e-6)


def test_oracle_is_exact_when_the_channels_are_the_clean_sources() -> None:
    src = noise_sources(4, 4.0, seed=3)
    rng = np.random.default_rng(3)
    gains = np.cumsum(rng.normal(0.0, 0.7, (4 * RATE // HOP, 4)), axis=0) - 6.0
    target = apply_gains(src, gains, HOP)
    oracle = oracle_gains(src, target, HOP)
    assert snr_db(target, apply_gains(src, oracle.frame_db, HOP)) > 80.0
    active = np.stack(
        [np.abs(x).reshape(-1, HOP).max(axis=1) > 0 for x in src], axis=1
    )  # (frames, sources)
    active &= np.vstack([active[1:], active[-1:]])  # the next frame's ramp also sees the gain
    err = np.abs(oracle.frame_db - gains)[active]
    assert err.max() < 0.01


def test_oracle_beats_unity_gains_with_bleed() -> None:
    src = noise_sources(4, 4.0, seed=4)
    rng = np.random.default_rng(4)
    mixing = np.eye(4) + rng.uniform(0.05, 0.3, (4, 4)) * (1 - np.eye(4))
    channels = (mixing @ src * rng.uniform(0.3, 3.0, (4, 1))).astype(np.float32)
    gains = np.repeat(rng.uniform(-12, 0, (1, 4)), 4 * RATE // HOP, axis=0)
    gains[20:30, 1] += 6.0
    target = apply_gains(src, gains, HOP)
    oracle = oracle_gains(channels, target, HOP)
    report = oracle_report(channels, target, oracle, HOP)
    assert report["frame"] > report["static"] > report["raw_best_master"] + 3.0
    assert np.all(oracle.frame_db >= -80.0)


@needs_render
def test_generated_target_is_the_sum_of_gained_clean_channels(synth: tuple) -> None:
    data, _ = synth
    clean = data.clean()
    mix = apply_gains(clean, data.target_gains_db, data.hop)
    np.testing.assert_allclose(mix, data.song.target_mix, atol=2e-4)
    report = data.song.meta.extra["oracle"]["snr_db"]
    assert report["frame"] > report["raw_best_master"] + 3.0
    assert report["frame"] >= report["static"]
    assert_target_level(data.song.audio, data.song.target_mix)
    assert abs(float(np.median(data.oracle_static_db))) < 12.0, "faders near 0 dB"
