"""The activity gate: a channel that carries only bleed holds its fader until its instrument
plays (models.activity, bridge.safety), in the engine with the shipped model on the bundled demo
song, and in the evaluation (models.eval.systems.GatedGains)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import models.demo
from bridge.engine import Engine, HopSnapshot
from bridge.safety import ChannelState, Mode, SafetyStage
from bridge.sources import FileSource
from models.activity import ActivityGate, GateSettings
from models.eval.systems import GatedGains, make_system
from models.gainsource import UnityGains, checkpoint_path
from models.song import load_song

HOP_S = 0.05
STEP_DB = 24.0 * HOP_S
DEMO = Path(models.demo.__file__).parent / "song"
BLEED_ONLY = ["Kick", "Snare", "Bass", "Guitar", "Lead"]
"""The demo's intro (0-3.8 s) is keys and organ: these channels carry only the stage's bleed."""
INTRO_HOPS = 70  # 3.5 s
SHOW_HOPS = 130  # 6.5 s: the band comes in at about 3.8 s


def _db_power(db: float) -> float:
    return 10 ** (db / 10)


def test_a_channel_far_below_the_loudest_or_under_the_floor_is_inactive() -> None:
    gate = ActivityGate(relative_db=20.0, floor_dbfs=-60.0)
    gate.reset(4, HOP_S)
    levels = [-20.0, -35.0, -45.0, -70.0]  # loudest, 15 dB down, 25 dB down, under the floor
    active = gate.update(np.array([_db_power(v) for v in levels]))
    assert active.tolist() == [True, True, False, False]


def test_the_level_is_smoothed_so_a_drum_stays_active_between_hits() -> None:
    gate = ActivityGate(window_s=0.4)
    gate.reset(2, HOP_S)
    hit, rest = _db_power(-10.0), _db_power(-90.0)
    pad = _db_power(-25.0)
    seen = [gate.update(np.array([hit if k % 10 == 0 else rest, pad]))[0] for k in range(40)]
    assert all(seen[1:]), "a kick every 0.5 s must stay active between its hits"
    for _ in range(60):  # the drummer stops: 3 s of nothing
        last = gate.update(np.array([rest, pad]))
    assert not last[0] and last[1]


def _opening(rest_hops: int) -> list[bool]:
    """Channel 1 carries bleed for `rest_hops`, then plays: its `settling` on the hops after."""
    gate = ActivityGate(settle_s=1.0, rest_s=2.0)
    gate.reset(2, HOP_S)
    loud, bleed = _db_power(-20.0), _db_power(-50.0)
    for _ in range(rest_hops):
        gate.update(np.array([loud, bleed]))
        assert gate.settling.tolist() == [False, False]
    settling = []
    for _ in range(40):
        gate.update(np.array([loud, loud]))
        settling.append(bool(gate.settling[1]))
        assert not gate.settling[0]  # it played from the first hop
    return settling


def test_a_channel_that_comes_in_after_a_rest_settles_for_a_second() -> None:
    settling = _opening(rest_hops=60)  # 3 s of bleed: an intro
    start = settling.index(True)  # the smoothed level opens it within a few hops
    assert start <= 4
    rest = settling[start:]
    end = rest.index(False)
    assert not any(rest[end:]) and end * HOP_S == pytest.approx(1.0)


def test_a_breath_between_phrases_does_not_settle() -> None:
    assert not any(_opening(rest_hops=15))  # 0.75 s of bleed


def test_the_gate_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        ActivityGate(relative_db=0.0)


def test_safety_stage_holds_an_inactive_channel_and_slews_the_rest() -> None:
    stage = SafetyStage(3, HOP_S, initial_db=np.array([-10.0, -10.0, -10.0]))
    stage.channels[2].gate = False  # an ambience mic: ridden even when quiet
    active = np.array([True, False, False])
    report = stage.process(np.array([0.0, 0.0, 0.0]), active)
    assert report.out_db.tolist() == pytest.approx([-10.0 + STEP_DB, -10.0, -10.0 + STEP_DB])
    assert report.quiet == [1]
    # The instrument plays: the model takes the channel on from where it held, one step a hop.
    report = stage.process(np.array([0.0, 0.0, 0.0]), np.array([True, True, True]))
    expected = [-10 + 2 * STEP_DB, -10 + STEP_DB, -10 + 2 * STEP_DB]
    assert report.out_db.tolist() == pytest.approx(expected)
    assert report.quiet == []


def test_a_settling_channel_may_go_down_but_not_up() -> None:
    stage = SafetyStage(3, HOP_S, initial_db=np.array([-10.0, -10.0, -10.0]))
    stage.channels[2].gate = False
    everyone = np.array([True, True, True])
    settling = np.array([True, True, True])
    report = stage.process(np.array([0.0, -20.0, 0.0]), everyone, settling)
    assert report.out_db.tolist() == pytest.approx([-10.0, -10.0 - STEP_DB, -10.0 + STEP_DB])


def test_bypass_and_a_person_are_not_held_by_the_gate() -> None:
    stage = SafetyStage(2, HOP_S, initial_db=np.array([-10.0, -10.0]))
    stage.adopt([-20.0, -10.0], snapshot=True)
    stage.adopt([-10.0, -10.0])
    stage.set_mode(Mode.BYPASS)
    quiet = np.array([False, False])
    report = stage.process(np.zeros(2), quiet)
    assert report.out_db[0] == pytest.approx(-10.0 - STEP_DB)  # gliding home to the soundcheck
    stage.set_mode(Mode.AUTO)
    stage.set_state(1, ChannelState.HUMAN, -3.0)
    report = stage.process(np.zeros(2), quiet)
    assert report.out_db[1] == -3.0 and report.quiet == [0]


def test_quiet_is_known_on_a_hop_the_stage_did_not_run() -> None:
    """A link down or a missed deadline skips `process`: the TUI still shows which channels the
    gate holds, the same ones `process` would report."""
    stage = SafetyStage(3, HOP_S)
    stage.set_state(2, ChannelState.HUMAN, -5.0)
    inactive = np.array([True, False, False])
    assert stage.quiet(inactive) == [1]  # the person's channel is theirs, not quiet
    assert stage.process(np.zeros(3), inactive).quiet == [1]
    stage.set_mode(Mode.FREEZE)
    assert stage.quiet(inactive) == []


def _intro(
    gate: bool, settings: GateSettings | None = None, hops: int = SHOW_HOPS
) -> tuple[list[str], np.ndarray, list[HopSnapshot]]:
    """The demo's intro through the engine with the shipped ALM-MR, relative ride from 0 dB
    faders, as `ailive demo` runs it; gate=False turns the gate off on every channel;
    `settings`: a profile's [activity] levels."""
    if not checkpoint_path("alm-mr").is_file():
        pytest.skip("no shipped ALM-MR checkpoint")
    from models.gainsource import make_gain_source

    song = load_song(DEMO)
    source = FileSource(song, realtime=False, seconds=hops * HOP_S)
    snaps: list[HopSnapshot] = []
    levels = None if settings is None else settings.gate()
    engine = Engine(source, make_gain_source("alm-mr"), ride="relative", deadline_s=math.inf,
                    on_hop=snaps.append, gate=levels)  # fmt: skip
    for channel in engine.safety.channels:
        channel.gate = gate
    engine.run()
    return song.names, np.array([s.sent_db for s in snaps]), snaps


@pytest.fixture(scope="module")
def gated_show() -> tuple[list[str], np.ndarray, list[HopSnapshot]]:
    return _intro(gate=True)


def test_the_demo_intro_holds_the_channels_that_carry_only_bleed(
    gated_show: tuple[list[str], np.ndarray, list[HopSnapshot]],
) -> None:
    names, sent, snaps = gated_show
    idx = [names.index(n) for n in BLEED_ONLY]
    assert np.abs(sent[:INTRO_HOPS, idx]).max() == 0.0, "a channel with nothing of its own moved"
    assert all(set(idx) <= set(s.quiet) for s in snaps[5:INTRO_HOPS])
    playing = [names.index("Keys"), names.index("Organ")]
    assert np.abs(sent[INTRO_HOPS, playing]).max() > 1.0, "the channels that play are ridden"
    assert np.abs(np.diff(sent, axis=0)).max() <= STEP_DB + 1e-9


def test_the_band_comes_in_at_the_held_level_not_hot(
    gated_show: tuple[list[str], np.ndarray, list[HopSnapshot]],
) -> None:
    names, sent, snaps = gated_show
    for name in BLEED_ONLY:
        ch = names.index(name)
        opened = next(k for k in range(INTRO_HOPS, SHOW_HOPS) if ch not in snaps[k].quiet)
        first_second = sent[opened : opened + 20, ch]
        assert first_second.max() <= 0.0, f"{name} came in above its held level"


def test_without_the_gate_the_model_rides_bleed_up() -> None:
    """What the gate prevents (seen on main before it): the model raised the bleed-only channels
    towards the +6 dB range limit during the intro, so the band came in hot. The channels whose
    intro is the keys' and organ's bleed; the Bass is a DI with next to nothing in the intro (45
    dB under the keys): the third session's ALM-MR raised it too, the ninth's does not (+0.5
    dB), so it is not part of this premise (the gate's tests above still hold it)."""
    names, sent, _ = _intro(gate=False)
    idx = [names.index(n) for n in BLEED_ONLY if n != "Bass"]
    assert sent[INTRO_HOPS, idx].min() > 3.0


def test_a_profile_s_activity_levels_reach_the_engine() -> None:
    """[activity] relative_db = 40: the kick's bleed (about 24 dB under the keys in the intro)
    now counts as playing; the bass (about 45 dB under, a DI with no bleed) still does not."""
    names, _, snaps = _intro(gate=True, settings=GateSettings(relative_db=40.0), hops=40)
    quiet = set(snaps[-1].quiet)
    assert names.index("Kick") not in quiet and names.index("Bass") in quiet


def test_eval_plays_systems_through_the_gate() -> None:
    source = make_system("raw", None)
    assert isinstance(source, GatedGains)
    assert not isinstance(make_system("raw", None, gate=False), GatedGains)


class _Rising:
    name = "rising"

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self.n = n_channels

    def step(self, hop: np.ndarray) -> np.ndarray:
        return np.full(self.n, 6.0)


def test_gated_gains_hold_a_bleed_channel_and_slew_like_the_stage() -> None:
    rate, hop = 48_000, 2400
    t = np.arange(hop) / rate
    loud = 0.3 * np.sin(2 * np.pi * 220 * t)
    gated = GatedGains(_Rising())  # type: ignore[arg-type]
    gated.reset(2, rate)
    for k in range(70):
        bleed = loud * (10 ** (-30 / 20) if k < 45 else 1.0)  # channel 1 comes in at hop 45
        out = gated.step(np.stack([loud, bleed]).astype(np.float32))
        if k < 65:  # held on bleed, then settling for 1 s (20 hops): no raise
            assert out[1] == 0.0, k
    assert out[0] == pytest.approx(6.0)
    assert out[1] == pytest.approx(5 * STEP_DB)
    # reset: a new song starts from 0 dB with a fresh gate
    gated.reset(2, rate)
    assert gated.step(np.stack([loud, loud]).astype(np.float32)).tolist() == [STEP_DB, STEP_DB]


def test_unity_gains_are_unchanged_by_the_gate() -> None:
    gated = GatedGains(UnityGains())
    gated.reset(2, 48_000)
    hop = np.zeros((2, 2400), dtype=np.float32)
    assert gated.step(hop).tolist() == [0.0, 0.0]
