"""Real capture: a JACK server (dummy driver), a JACK player, the engine capturing through
sounddevice. What the engine hears must be what was played, and its gains the offline ones."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from bridge.capture import CaptureSource
from bridge.devices import AudioBackendError
from bridge.engine import Engine, HopSnapshot
from bridge.jackserver import JackPlayer, JackUnavailable, jack_available, stalled
from bridge.jackserver import dummy_jack as _dummy_jack
from bridge.outputs.automation import AutomationRecorder
from bridge.sources import FileSource
from models.baselines.autofader import LoudnessAutoFader
from models.song import ChannelInfo, Song, SongMeta
from tests.paced import LIMIT_S, wait_for

pytestmark = pytest.mark.skipif(jack_available() is not None, reason=str(jack_available()))

RATE = 48_000
HOP = 2400
CHANNELS = 6


WAIT_FOR_CLIENTS_MS = 30_000
"""The test server waits this long for a late client rather than lose its cycle: what these tests
check is the audio itself, which a busy machine must not change."""


@contextmanager
def dummy_jack(**kw: int) -> Iterator[str]:
    try:
        with _dummy_jack(wait_for_clients_ms=WAIT_FOR_CLIENTS_MS, **kw) as name:
            yield name
    except JackUnavailable as exc:
        pytest.fail(str(exc))


class Tap:
    """Wraps a source and keeps every hop it yields (what the engine really heard)."""

    def __init__(self, source: CaptureSource) -> None:
        self.source = source
        self.names = source.names
        self.sample_rate = source.sample_rate
        self.hops_seen: list[np.ndarray] = []

    @property
    def n_channels(self) -> int:
        return self.source.n_channels

    @property
    def hop_time(self) -> float | None:
        return self.source.hop_time

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        for hop in self.source.hops(hop_samples):
            self.hops_seen.append(hop.copy())
            yield hop

    def stats(self) -> dict[str, int]:
        return self.source.stats()

    def close(self) -> None:
        self.source.close()


def test_capture_hears_what_was_played_and_gains_match_offline() -> None:
    rng = np.random.default_rng(3)
    seconds = 2.0
    levels = np.array([-10, -30, -20, -26, -14, -36], dtype=np.float32)
    audio = rng.standard_normal((CHANNELS, int(RATE * seconds))).astype(np.float32)
    audio *= (10 ** (levels / 20))[:, None]
    audio += 0.01  # every sample non-zero: the first one marks where playback began
    total = audio.shape[1]

    with dummy_jack():
        player = JackPlayer(audio)
        try:
            capture = CaptureSource(
                "JACK", list(range(CHANNELS)), blocksize=256, lost_after_s=LIMIT_S
            )
            source = Tap(capture)
            auto = AutomationRecorder(source.names)
            # No deadline: the live gains must equal the offline pass's however busy the machine
            # is (what a missed deadline does is test_engine's).
            engine = Engine(source, LoudnessAutoFader(), [auto], deadline_s=math.inf)
            played_by: list[int] = []

            def on_hop(snap: HopSnapshot) -> None:
                # Once the player is through, three more hops (28 JACK cycles) bring its last
                # samples to the engine.
                if not played_by and player.pos >= total:
                    played_by.append(snap.index)
                if played_by and snap.index >= played_by[0] + 3:
                    engine.stop()

            engine.on_hop = on_hop
            runner = threading.Thread(target=engine.run)
            runner.start()
            # Play only once the capture stream runs and, after wiring, a hop more has come
            # through: the whole playback lands in what the engine hears.
            wait_for(lambda: len(source.hops_seen) >= 1, "the capture stream to start")
            player.wire_to_portaudio()
            wired = len(source.hops_seen)
            wait_for(lambda: len(source.hops_seen) > wired + 1, "hops after wiring")
            player.playing = True
            runner.join(timeout=LIMIT_S)
            assert not runner.is_alive(), "engine did not finish"
        finally:
            player.close()
        source.close()

    heard = np.concatenate(source.hops_seen, axis=1)  # (channels, samples)
    start = int(np.argmax(np.abs(heard[0]) > 0))
    assert np.abs(heard[0, start]) > 0, "nothing of the playback was captured"
    # Bit-exact, channel order preserved: the player's audio, from where it began.
    played = heard[:, start : start + total]
    assert played.shape == audio.shape
    np.testing.assert_array_equal(played, audio)

    # The live engine's gains are exactly what the offline path computes on the same audio.
    song = Song(SongMeta(RATE, [ChannelInfo(n) for n in source.names]), heard)
    offline = AutomationRecorder(source.names)
    Engine(
        FileSource(song, realtime=False), LoudnessAutoFader(), [offline], deadline_s=math.inf
    ).run()
    live_gains = auto.as_array()
    hops = engine.stats.hops
    # (The tap also kept the hop that arrived as the engine stopped, which it never processed.)
    assert len(live_gains) == hops == len(source.hops_seen) - 1
    np.testing.assert_allclose(live_gains, offline.as_array()[:hops], atol=1e-9)
    # Every hop's gains reached the sinks, timed from the capture callback.
    assert len(engine.stats.latency_ms) == hops
    assert 0 < engine.stats.latency_percentile_ms(50) < 1000


def test_wrong_channel_count_or_rate_is_a_clear_error() -> None:
    with dummy_jack(ports=4):
        with pytest.raises(AudioBackendError, match=r"channel-count mismatch.*has 4 inputs"):
            CaptureSource("JACK", list(range(8)))
        with pytest.raises(AudioBackendError, match="44100 Hz"):
            CaptureSource("JACK", [0, 1], sample_rate=44_100)


class Recorder:
    """A JACK client recording whatever reaches its inputs."""

    def __init__(self, n: int) -> None:
        import jack

        self.client: Any = jack.Client("ailive-recorder", no_start_server=True)
        self.ports = [self.client.inports.register(f"in_{i + 1}") for i in range(n)]
        self.blocks: list[np.ndarray] = []
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        self.blocks.append(np.stack([p.get_array().copy() for p in self.ports]))

    def samples(self) -> np.ndarray:
        blocks = list(self.blocks)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(self.ports), 0))

    def wire_from_portaudio(self) -> None:
        deadline = time.monotonic() + LIMIT_S
        while True:
            outs = self.client.get_ports(is_output=True, is_audio=True, name_pattern="PortAudio")
            if len(outs) >= len(self.ports):
                break
            if time.monotonic() > deadline:
                pytest.fail("PortAudio's playback ports never appeared in JACK")
            time.sleep(0.01)
        for port in outs:
            for other in self.client.get_all_connections(port):
                self.client.disconnect(port, other)
        for theirs, ours in zip(outs, self.ports, strict=False):
            self.client.connect(theirs, ours)
        # The new connections hold from the next cycles on.
        wired = len(self.blocks)
        wait_for(lambda: len(self.blocks) > wired + 2, "JACK cycles after wiring")

    def close(self) -> np.ndarray:
        self.client.deactivate()
        self.client.close()
        return self.samples()


def test_direct_mode_plays_the_mix_on_a_sound_card() -> None:
    from bridge.mixdown import MixRecorder
    from bridge.playback import MixPlayer
    from tests.conftest import tone_song

    song = tone_song([-12.0, -24.0, -18.0], seconds=1.5)
    chunks = song.audio.shape[1] // HOP
    with dummy_jack():
        recorder = Recorder(2)
        # The card starts once it holds the whole mix, so what it plays cannot depend on when
        # the engine's chunks arrive (running dry is not what this test covers).
        player = MixPlayer("JACK", outputs=[0, 1], queue_chunks=chunks, prebuffer=chunks - 1)
        recorder.wire_from_portaudio()
        file_mix = MixRecorder(RATE)
        engine = Engine(
            FileSource(song, realtime=False),
            LoudnessAutoFader(),
            recorder=file_mix,
            mix_outputs=[player],
        )
        engine.run()
        mix = file_mix.audio
        assert len(mix) == chunks * HOP

        def played_out() -> bool:
            heard = recorder.samples()
            sounding = np.flatnonzero(heard[0])
            return len(sounding) > 0 and heard.shape[1] - sounding[0] >= len(mix)

        wait_for(played_out, "the card to play the whole mix")
        player.close()
        heard = recorder.close()
    start = int(np.argmax(np.abs(heard[0]) > 0))
    played = heard[:, start : start + len(mix)]
    # Both outputs carry the mono mix, sample for sample: the card plays what the file holds.
    np.testing.assert_array_equal(played[0], mix)
    np.testing.assert_array_equal(played[1], mix)
    assert player.counts["dropped_chunks"] == 0


def test_a_lost_capture_freezes_every_fader_and_the_show_goes_on_when_it_is_back() -> None:
    """The interface stops dead mid-show (the JACK server stopped with SIGSTOP): within a second
    the engine says so, the TUI's snapshot carries the banner, and no fader moves; when audio
    flows again the show goes on by itself, from where the faders are."""
    with dummy_jack(ports=CHANNELS) as server:
        capture = CaptureSource("JACK", list(range(CHANNELS)), blocksize=256)
        auto = AutomationRecorder(capture.names)
        engine = Engine(capture, LoudnessAutoFader(), [auto], deadline_s=math.inf)
        seen: list[HopSnapshot] = []

        def slow_with_the_banner(snapshot: HopSnapshot) -> None:
            # A UI that takes its time over the banner: the engine must not say "lost" to
            # another thread before the snapshot that shows it is out (it did, and this test
            # failed now and then on an idle machine).
            if snapshot.source_lost:
                time.sleep(0.3)
            seen.append(snapshot)

        engine.on_hop = slow_with_the_banner
        runner = threading.Thread(target=engine.run)
        runner.start()
        try:
            wait_for(lambda: engine.stats.hops >= 5, "the show to run")
            with stalled(server):
                wait_for(lambda: engine.source_lost != "", "the loss to be declared")
                at_loss = len(auto.rows)
                assert engine.source_lost.startswith("capture lost: no audio from")
                assert engine.safety.last_fault == engine.source_lost
                assert seen[-1].source_lost == engine.source_lost  # the banner, at once
                frozen = auto.rows[-1]
                # Nothing is sent while no audio comes: every fader stays where it was.
                assert len(auto.rows) == at_loss
            wait_for(lambda: engine.source_lost == "", "the capture to come back")
            wait_for(lambda: len(auto.rows) >= at_loss + 5, "hops after the return")
            back = auto.rows[at_loss]
            # The first hop after the return is one slew step from where the faders froze.
            assert np.abs(back - frozen).max() <= engine.safety.slew_db_per_s * engine.hop_s + 1e-9
        finally:
            engine.stop()
            runner.join(timeout=LIMIT_S)
            capture.close()
    assert not runner.is_alive()
    assert engine.stats.stopped_by == "stop requested"
    kinds = [kind for _, kind in engine.stats.events]
    assert kinds.index("hold: capture") < kinds.index("resume: capture")
    assert capture.stats()["losses"] >= 1
    assert seen[-1].source_lost == ""
