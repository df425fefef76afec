"""The engine: zero-latency order, deadline misses, faults freeze, sinks get every hop."""

from __future__ import annotations

import math
import time

import numpy as np

from bridge.engine import DeadlinePolicy, Engine, HopSnapshot
from bridge.mixdown import MixRecorder
from bridge.outputs.automation import AutomationRecorder
from bridge.sources import FileSource
from models.song import ChannelInfo, Song, SongMeta
from tests.conftest import tone_song

RATE = 48_000
HOP = 2400


def dc_song(n_hops: int, channels: int = 1) -> Song:
    audio = np.ones((channels, n_hops * HOP), dtype=np.float32)
    meta = SongMeta(RATE, [ChannelInfo(f"c{i}") for i in range(channels)])
    return Song(meta=meta, audio=audio)


class CountingSource:
    """A gain source whose prediction from hop k is -k dB, so the order is visible."""

    name = "counting"

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self.n = n_channels
        self.k = 0

    def step(self, hop: np.ndarray) -> np.ndarray:
        self.k += 1
        return np.full(self.n, -float(self.k - 1))


def make_engine(song: Song, gain_source: object, **kw: object) -> tuple[Engine, MixRecorder]:
    rec = MixRecorder(RATE)
    kw.setdefault("deadline_s", math.inf)  # a busy machine must not hold a hop (unless a test asks)
    eng = Engine(FileSource(song, realtime=False), gain_source, recorder=rec, **kw)  # type: ignore[arg-type]
    eng.safety.slew_db_per_s = 1e9
    eng.safety.channels[0].floor_db = -90.0
    return eng, rec


def test_gain_from_hop_t_is_applied_to_hop_t_plus_1() -> None:
    auto = AutomationRecorder(["c0"])
    eng, rec = make_engine(dc_song(6), CountingSource(), sinks=[auto])
    eng.run()
    mix = rec.audio
    ends = mix[HOP - 1 :: HOP]  # the gain reached at the end of each hop
    # Hop 0 gets the initial 0 dB; hop t gets the prediction made from hop t-1 (= -(t-1) dB).
    expected_db = np.array([0.0, 0.0, -1.0, -2.0, -3.0, -4.0])
    assert np.allclose(20 * np.log10(ends), expected_db, atol=1e-4)
    # The sinks get each prediction stamped with the start of the next hop.
    assert np.allclose(auto.times, [0.05 * (k + 1) for k in range(6)])
    assert np.allclose(auto.as_array()[:, 0], -np.arange(6.0))


def test_direct_mix_has_no_jump_at_hop_boundaries() -> None:
    eng, rec = make_engine(dc_song(8), CountingSource())
    eng.run()
    mix = rec.audio
    steps = np.abs(np.diff(mix))
    # A 1 dB change spread over a hop is a tiny per-sample step; a zipper would be ~0.1.
    assert steps.max() < 1e-4


class SlowSource(CountingSource):
    def step(self, hop: np.ndarray) -> np.ndarray:
        time.sleep(0.02)
        return super().step(hop)


def test_deadline_miss_holds_the_previous_gains() -> None:
    auto = AutomationRecorder(["c0"])
    eng, _ = make_engine(dc_song(4), SlowSource(), sinks=[auto], deadline_s=0.005)
    stats = eng.run()
    assert stats.misses == 4
    assert np.all(auto.as_array() == 0.0)


class ExplodingSource(CountingSource):
    def step(self, hop: np.ndarray) -> np.ndarray:
        if self.k >= 2:
            raise RuntimeError("model blew up")
        return super().step(hop) - 5.0


def test_gain_source_exception_freezes_faders_where_they_are() -> None:
    auto = AutomationRecorder(["c0"])
    eng, _ = make_engine(dc_song(6), ExplodingSource(), sinks=[auto])
    stats = eng.run()
    sent = auto.as_array()[:, 0]
    assert np.allclose(sent, [-5.0, -6.0, -6.0, -6.0, -6.0, -6.0])
    assert stats.faults == 4
    assert "model blew up" in eng.safety.last_fault


def test_nan_audio_holds_that_channel_only_and_names_it() -> None:
    from models.baselines.autofader import LoudnessAutoFader

    song = tone_song([-12.0, -30.0], seconds=6 * HOP / RATE)
    song.audio[0, 3 * HOP : 4 * HOP] = np.nan
    auto = AutomationRecorder(["a", "b"])
    eng, rec = make_engine(song, LoudnessAutoFader(), sinks=[auto])
    stats = eng.run()
    assert stats.faults == 1
    assert "channel 1 (Ch1): NaN/Inf audio" in eng.safety.last_fault
    assert np.isfinite(rec.audio).all()
    sent = auto.as_array()
    assert sent[3, 0] == sent[2, 0]  # the faulty channel's fader held on its bad hop
    assert sent[3, 1] != sent[2, 1]  # while the other channel went on
    assert sent[5, 0] != sent[2, 0]  # and the faulty one moves again once its audio is back
    assert eng.safety.channels[0].state.value == "auto"


class ReleasingSink(AutomationRecorder):
    def __init__(self) -> None:
        super().__init__(["c0"])
        self.released: list[int] = []

    def release(self, index: int) -> None:
        self.released.append(index)


def test_a_person_s_move_wins_until_released_everywhere() -> None:
    sink = ReleasingSink()
    eng, _ = make_engine(dc_song(6), CountingSource(), sinks=[sink])
    eng.human_move(0, -12.0)
    eng.run()
    assert np.all(sink.as_array()[:, 0] == -12.0)  # the model never moved it
    eng.release(0)
    assert eng.safety.channels[0].state.value == "auto"
    assert sink.released == [0]  # the output stops yielding too


def test_human_hold_time_hands_the_fader_back() -> None:
    sink = ReleasingSink()
    eng, _ = make_engine(dc_song(6), CountingSource(), sinks=[sink], human_hold_s=0.0)
    eng.human_move(0, -12.0)
    eng.run()
    assert sink.released == [0]
    assert sink.as_array()[0, 0] == 0.0  # back to the model from the first hop


class VerySlowSource(CountingSource):
    """Always misses a 15 ms deadline (a 30 ms sleep cannot finish sooner)."""

    def step(self, hop: np.ndarray) -> np.ndarray:
        time.sleep(0.03)
        return super().step(hop)


def run_with_policy(policy: DeadlinePolicy) -> tuple[Engine, list[HopSnapshot], list[str]]:
    events: list[str] = []
    snaps: list[HopSnapshot] = []
    eng, _ = make_engine(
        tone_song([-20.0, -30.0], seconds=12 * HOP / RATE),
        VerySlowSource(),
        deadline_s=0.015,
        deadline_policy=policy,
        on_event=lambda kind, fields: events.append(kind),
        on_hop=snaps.append,
    )
    eng.run()
    return eng, snaps, events


def test_a_missed_hop_raises_the_alarm_and_sustained_misses_fall_back_to_the_autofader() -> None:
    eng, snaps, events = run_with_policy(DeadlinePolicy(window_s=0.25, miss_percent=50))
    assert snaps[0].alarm == "1 deadline misses in the last 0.25 s"  # at the very first miss
    assert eng.stats.fallback.startswith("autofader at t=0.25 s (5 of 5 hops missed)")
    assert eng.gain_source.name == "autofader"
    assert "fallback: autofader" in snaps[-1].alarm
    assert events.count("alarm") == 1 and events.count("fallback") == 1
    # The auto-fader drives the faders from the hop after the fallback: they move again.
    sent = np.array([s.sent_db for s in snaps])
    assert np.all(sent[:5] == 0.0) and not np.allclose(sent[-1], 0.0)


def test_the_fallback_can_be_a_freeze() -> None:
    eng, snaps, events = run_with_policy(
        DeadlinePolicy(window_s=0.25, miss_percent=50, fallback="freeze")
    )
    assert eng.stats.fallback.startswith("freeze at t=0.25 s")
    assert eng.safety.mode.value == "freeze" and snaps[-1].mode == "freeze"
    assert eng.gain_source.name == "counting"
    assert events.count("fallback") == 1


def test_a_few_misses_only_raise_the_alarm() -> None:
    eng, snaps, _ = run_with_policy(DeadlinePolicy(window_s=0.25, miss_percent=100))
    assert eng.stats.fallback == "" and eng.stats.misses == 12
    assert snaps[-1].alarm == "5 deadline misses in the last 0.25 s"


def test_offline_sources_have_no_deadline() -> None:
    """A render never drops a prediction for being slow: nothing is live."""
    auto = AutomationRecorder(["c0"])
    eng, _ = make_engine(dc_song(3), VerySlowSource(), sinks=[auto])
    stats = eng.run()
    assert stats.misses == 0 and eng.deadline_s == float("inf")
    assert auto.as_array()[:, 0].tolist() == [0.0, -1.0, -2.0]
