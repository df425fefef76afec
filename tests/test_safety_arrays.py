"""The safety stage's hop in numpy gives, channel for channel, what the one-channel rule gives
(`slew` towards the wanted level, per state, mode and ride), and a setting changed in place
reaches the very next hop."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.mixdown import DirectMixer, db_to_linear
from bridge.safety import BOTTOM_DB, ChannelState, Mode, SafetyStage, slew

HOP_S = 0.05


def one_channel(stage: SafetyStage, before: np.ndarray, model_db: np.ndarray) -> np.ndarray:
    """The stage's rule written out channel by channel (the reference)."""
    out = before.copy()
    step = stage.slew_db_per_s * stage.hop_s
    for ch, s in enumerate(stage.channels):
        if s.state in (ChannelState.HUMAN, ChannelState.PROTECTED, ChannelState.LOCKED):
            continue
        if s.state is ChannelState.MANUAL:
            out[ch] = s.manual_db
            continue
        snap = float(stage.snapshot_db[ch])
        if stage.mode in (Mode.BYPASS, Mode.RESTORE):
            wanted = snap
        elif stage.ride == "absolute":
            wanted = min(max(model_db[ch] + s.offset_db, s.floor_db), s.ceiling_db)
        elif snap <= BOTTOM_DB:
            wanted = snap
        else:
            level = min(max(snap + model_db[ch] + s.offset_db, s.floor_db), s.ceiling_db)
            wanted = min(max(level, snap - s.range_db), snap + s.range_db)
        out[ch] = slew(float(out[ch]), wanted, step)
    return out


@pytest.mark.parametrize("ride", ["absolute", "relative"])
@pytest.mark.parametrize("mode", [Mode.AUTO, Mode.BYPASS])
def test_the_numpy_hop_is_the_one_channel_rule(ride: str, mode: Mode) -> None:
    rng = np.random.default_rng(7)
    n = 24
    start = rng.uniform(-30, 6, n)
    start[[2, 9]] = -np.inf  # closed at soundcheck
    start[5] = -95.0  # below the bottom of the travel
    stage = SafetyStage(n, HOP_S, slew_db_per_s=20.0, initial_db=start, ride=ride)
    stage.snapshot_db = start.copy()
    states = list(ChannelState)
    for ch, s in enumerate(stage.channels):
        s.offset_db = float(rng.uniform(-6, 6))
        s.floor_db = float(rng.uniform(-80, -20))
        s.ceiling_db = float(rng.uniform(-5, 10))
        s.range_db = float(rng.uniform(1, 8))
        stage.set_state(ch, states[ch % len(states)], float(rng.uniform(-40, 0)))
    stage.set_mode(mode)
    moved = 0.0
    for _ in range(30):
        model_db = rng.uniform(-60, 20, n)
        before = stage.current_db
        report = stage.process(model_db)
        assert not report.faulted
        np.testing.assert_array_equal(report.out_db, one_channel(stage, before, model_db))
        held = [
            c
            for c, s in enumerate(stage.channels)
            if s.state.value in ("human", "protected", "locked")
        ]
        assert report.held == held
        with np.errstate(invalid="ignore"):  # -inf - -inf: a closed fader that stayed closed
            step = np.abs(report.out_db - before)
        moved += float(step[np.isfinite(step)].sum())
    assert moved > 10.0  # faders did move: the comparison is not of held values


def test_a_setting_changed_in_place_reaches_the_next_hop() -> None:
    stage = SafetyStage(3, HOP_S, slew_db_per_s=1e9)
    assert stage.process(np.array([-5.0, -5.0, -5.0])).out_db.tolist() == [-5.0, -5.0, -5.0]
    stage.channels[1].ceiling_db = -8.0
    stage.channels[2].state = ChannelState.LOCKED
    report = stage.process(np.array([-3.0, -3.0, -3.0]))
    assert report.out_db.tolist() == [-3.0, -8.0, -5.0]
    assert report.held == [2]
    assert stage.states() == ["auto", "auto", "locked"]


def test_the_direct_mix_is_the_ramped_sum() -> None:
    rng = np.random.default_rng(3)
    hop = (0.2 * rng.standard_normal((5, 2400))).astype(np.float32)
    first, second = rng.uniform(-20, 6, 5), rng.uniform(-20, 6, 5)
    mixer = DirectMixer(5, first)
    mono = mixer.process(hop, second)
    ramp = np.arange(1, 2401) / 2400
    lin0, lin1 = db_to_linear(first), db_to_linear(second)
    curve = lin0[:, None] + (lin1 - lin0)[:, None] * ramp
    np.testing.assert_allclose(mono, np.sum(hop * curve, axis=0), rtol=1e-6, atol=1e-7)
    assert mono.dtype == np.float32
