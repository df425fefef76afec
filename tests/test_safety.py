"""The safety stage: bounds, slew, lock, manual, human override, freeze, bypass, faults."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bridge.safety import ChannelState, Mode, SafetyStage

HOP = 0.05


def test_slew_limit_bounds_every_step() -> None:
    s = SafetyStage(2, HOP, slew_db_per_s=20.0)
    out = s.process(np.array([6.0, -30.0])).out_db
    assert np.allclose(out, [1.0, -1.0])  # 20 dB/s x 50 ms = 1 dB per hop
    for _ in range(100):
        out = s.process(np.array([6.0, -30.0])).out_db
    assert np.allclose(out, [6.0, -30.0])


def test_floor_and_ceiling_clamp_the_model() -> None:
    s = SafetyStage(2, HOP, slew_db_per_s=1e6)
    s.channels[0].ceiling_db = 3.0
    s.channels[1].floor_db = -12.0
    out = s.process(np.array([20.0, -80.0])).out_db
    assert np.allclose(out, [3.0, -12.0])


def test_offset_is_added_before_the_limits() -> None:
    s = SafetyStage(1, HOP, slew_db_per_s=1e6)
    s.nudge_offset(0, 3.0)
    s.nudge_offset(0, -0.5)
    assert np.allclose(s.process(np.array([-4.0])).out_db, [-1.5])


def test_lock_human_and_protected_hold_while_others_move() -> None:
    s = SafetyStage(4, HOP, slew_db_per_s=1e6)
    s.process(np.array([-3.0, -3.0, -3.0, -3.0]))
    s.set_state(0, ChannelState.LOCKED)
    s.set_state(1, ChannelState.HUMAN, -7.0)
    s.set_state(2, ChannelState.PROTECTED)
    report = s.process(np.array([2.0, 2.0, 2.0, 2.0]))
    assert np.allclose(report.out_db, [-3.0, -7.0, -3.0, 2.0])
    assert report.held == [0, 1, 2]
    s.set_state(1, ChannelState.AUTO)
    assert s.process(np.array([2.0] * 4)).out_db[1] == 2.0


def test_manual_level_wins_over_the_model() -> None:
    s = SafetyStage(1, HOP)
    s.set_state(0, ChannelState.MANUAL, -9.0)
    assert s.process(np.array([5.0])).out_db[0] == -9.0


def test_freeze_holds_and_bypass_glides_to_the_snapshot() -> None:
    s = SafetyStage(2, HOP, slew_db_per_s=1e6)
    s.process(np.array([-6.0, 4.0]))
    s.set_mode(Mode.FREEZE)
    assert np.allclose(s.process(np.array([0.0, 0.0])).out_db, [-6.0, 4.0])
    s.set_mode(Mode.BYPASS)
    s.slew_db_per_s = 20.0
    out = s.process(np.array([-20.0, -20.0])).out_db
    assert np.allclose(out, [-5.0, 3.0])  # towards the snapshot (0 dB here), one step: no jump


def test_nan_or_wrong_shape_freezes_where_the_faders_are() -> None:
    s = SafetyStage(2, HOP, slew_db_per_s=1e6)
    s.process(np.array([-2.0, -8.0]))
    bad = s.process(np.array([np.nan, 0.0]))
    assert bad.faulted and "NaN" in bad.fault
    assert np.allclose(bad.out_db, [-2.0, -8.0])
    wrong = s.process(np.zeros(3))
    assert wrong.faulted and np.allclose(wrong.out_db, [-2.0, -8.0])
    assert s.faults == 2


def test_adopt_starts_from_the_console_and_bypass_returns_to_the_snapshot() -> None:
    s = SafetyStage(3, HOP, slew_db_per_s=20.0)
    s.adopt([-10.0, -np.inf, None], snapshot=True)
    assert np.array_equal(s.snapshot_db, [-10.0, -np.inf, 0.0])
    out = s.process(np.array([6.0, -20.0, 6.0])).out_db
    assert np.allclose(out, [-9.0, -89.0, 1.0])  # one step; a closed fader opens from -90
    s.set_mode(Mode.BYPASS)
    for _ in range(200):
        out = s.process(np.zeros(3)).out_db
    assert np.array_equal(out, s.snapshot_db)  # back to -inf exactly, gradually


def test_relative_ride_stays_within_range_of_the_snapshot() -> None:
    s = SafetyStage(3, HOP, slew_db_per_s=1e6, ride="relative")
    s.adopt([-10.0, -np.inf, -20.0], snapshot=True)
    s.channels[0].range_db = 3.0
    out = s.process(np.array([12.0, 12.0, -2.0])).out_db
    assert np.array_equal(out, [-7.0, -np.inf, -22.0])  # capped; closed stays closed; a ride
    with pytest.raises(ValueError, match="ride"):
        SafetyStage(1, HOP, ride="sideways")


def test_restore_glides_to_the_snapshot_then_freezes() -> None:
    s = SafetyStage(2, HOP, slew_db_per_s=20.0)
    s.adopt([-6.0, -12.0], snapshot=True)
    for _ in range(20):
        s.process(np.array([0.0, 0.0]))
    s.set_mode(Mode.RESTORE)
    steps = [s.process(np.zeros(2)).out_db for _ in range(30)]
    assert all(np.max(np.abs(b - a)) <= 1.0 + 1e-9 for a, b in itertools.pairwise(steps))
    assert s.mode is Mode.FREEZE and np.array_equal(steps[-1], [-6.0, -12.0])
