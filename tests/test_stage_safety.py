"""Stage safety over real UDP: the engine against the virtual X32 (faders preset to a soundcheck,
-inf included) and against the fake REAPER: adopt at start, no hop beyond the slew step, bypass and
restore reach the snapshot, relative range, listen sends nothing, a lost link freezes within 1 s,
a fader changed during an outage is kept, release by hand.

The show is paced by its source: before each hop it waits until the output has landed the last
values (or its link is down), then records what the console holds. Nothing races the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bridge.engine import Engine
from bridge.outputs.automation import AutomationRecorder
from bridge.outputs.link import LinkState
from bridge.outputs.reaper.client import ReaperOscClient
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.models import X32, XAIR
from bridge.safety import BOTTOM_DB, ChannelState, Mode
from bridge.virtual_console import VirtualConsole
from tests.fakes import FakeReaper
from tests.paced import wait_until

SOUNDCHECK = [-10.0, -5.0, -20.0, -3.0, -12.0, -math.inf, 0.0, -25.0]
HOP_SAMPLES = 480
RATE = 9600  # 50 ms hops of 480 samples: the engine's hop time, small arrays
STEP_DB = 24.0 * 0.05  # the safety stage's default slew per hop
QUANT_DB = 0.47  # the X32's coarsest step (bottom segment): rounding on both ends


class TargetGains:
    """A gain source that proposes whatever the test sets (the model is not under test)."""

    name = "target"

    def __init__(self, n: int, db: float) -> None:
        self.target = np.full(n, db)

    def reset(self, n_channels: int, sample_rate: int) -> None:
        pass

    def step(self, hop: np.ndarray) -> np.ndarray:
        return self.target.copy()


class PacedSource:
    """Yields hops of the same tone on every channel (each plays: the activity gate lets the
    model ride them all); before each, waits for `settled()` and records `probe()`; runs the
    script's action for that hop (index -> callable)."""

    def __init__(
        self,
        n: int,
        hops: int,
        settled: Callable[[], bool],
        probe: Callable[[], list[float]],
        script: dict[int, Callable[[], None]],
    ) -> None:
        self.names = [f"ch{i + 1}" for i in range(n)]
        self.sample_rate = RATE
        self.hop_time = None
        self._n, self._hops, self._settled, self._probe = n, hops, settled, probe
        self._script = script
        self.trace: list[list[float]] = []
        self.by_hand: set[int] = set()
        """Trace indices right after a person moved a fader (not our step)."""

    @property
    def n_channels(self) -> int:
        return self._n

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        for k in range(self._hops):
            assert wait_until(self._settled), f"hop {k}: output never settled"
            self.trace.append(self._probe())
            action = self._script.get(k)
            if action is not None:
                action()
            yield self._tone(hop_samples)

    def _tone(self, hop_samples: int) -> np.ndarray:
        t = np.arange(hop_samples) / RATE
        return np.tile(0.1 * np.sin(2 * np.pi * 500.0 * t), (self._n, 1)).astype(np.float32)

    def stats(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


def _db(v: float) -> float:
    return max(v, BOTTOM_DB)


def assert_slewed(trace: list[list[float]], skip: set[int], limit: float) -> None:
    """No fader moved more than `limit` dB between two hops, except where a person moved it."""
    worst = 0.0
    for k in range(1, len(trace)):
        if k in skip:
            continue
        for before, after in zip(trace[k - 1], trace[k], strict=True):
            worst = max(worst, abs(_db(after) - _db(before)))
    assert worst <= limit, f"a fader moved {worst:.2f} dB in one hop"


def settled_x32(client: X32Client) -> Callable[[], bool]:
    return lambda: client.link_report().state is not LinkState.LIVE or client.flush(0.05)


@pytest.fixture(params=[X32, XAIR], ids=["x32", "xair"])
def console(request: pytest.FixtureRequest) -> Iterator[VirtualConsole]:
    with VirtualConsole(channels=8, faders_db=SOUNDCHECK, model=request.param) as c:
        yield c


def x32_for(console: VirtualConsole, **kw: object) -> X32Client:
    """A client of the console's family; read-backs soon after each set, so hops pace quickly."""
    host, port = console.address
    return X32Client(
        host,
        port,
        channels=list(range(1, 9)),
        min_interval_s=0.005,
        verify_after_s=0.02,
        model=console.model,
        **kw,  # type: ignore[arg-type]
    ).connect()


def test_x32_show_start_bypass_release_restore_never_jump(console: VirtualConsole) -> None:
    client = x32_for(console)
    start = [console.fader(ch) for ch in range(1, 9)]
    start_db = [console.fader_db(ch) for ch in range(1, 9)]
    assert start_db == pytest.approx(SOUNDCHECK, abs=0.04)  # the soundcheck, in console steps
    gains = TargetGains(8, 2.4)  # what the issue saw: every fader sent to +2.4 dB
    engine: Engine
    source: PacedSource

    def person_moves() -> None:
        console.move_fader(2, 0.4)  # ch 2 to -34 dB
        source.by_hand.add(len(source.trace))
        assert wait_until(lambda: engine.safety.channels[1].state is ChannelState.HUMAN)

    def release_with_select() -> None:
        console.press_select(2)
        assert wait_until(lambda: engine.safety.channels[1].state is ChannelState.AUTO)

    script = {
        10: person_moves,
        20: release_with_select,
        40: lambda: engine.safety.set_mode(Mode.BYPASS),
        90: lambda: engine.safety.set_mode(Mode.AUTO),
        110: lambda: engine.restore_snapshot(),
    }
    source = PacedSource(
        8, 170, settled_x32(client), lambda: [console.fader_db(c) for c in range(1, 9)], script
    )
    engine = Engine(source, gains, [client], hop_samples=HOP_SAMPLES)  # type: ignore[arg-type]
    client.on_human_move = engine.human_move
    client.on_release = engine.release
    try:
        engine.run()
    finally:
        client.close()
    trace = source.trace
    assert trace[0] == start_db  # nothing moved before the first hop
    assert np.array_equal(engine.safety.snapshot_db, trace[0])
    assert_slewed(trace, source.by_hand, STEP_DB + QUANT_DB)
    assert trace[9][0] > trace[0][0]  # the model did move (from -10 dB towards +2.4)
    assert trace[89] == trace[0]  # bypass reached the snapshot: the same console steps
    assert engine.safety.mode is Mode.FREEZE  # restore reached it and holds
    assert [console.fader(ch) for ch in range(1, 9)] == start
    assert -90.0 < trace[39][5] < -40.0  # the closed fader opened gradually (from the bottom)
    assert math.isinf(trace[89][5])  # and bypass closed it again, gradually


def test_x32_relative_stays_in_range_and_listen_sends_nothing(console: VirtualConsole) -> None:
    client = x32_for(console)
    gains = TargetGains(8, 12.0)
    source = PacedSource(
        8, 40, settled_x32(client), lambda: [console.fader_db(c) for c in range(1, 9)], {}
    )
    engine = Engine(source, gains, [client], hop_samples=HOP_SAMPLES, ride="relative")  # type: ignore[arg-type]
    for s in engine.safety.channels:
        s.range_db = 3.0
    try:
        engine.run()
    finally:
        client.close()
    snap = engine.safety.snapshot_db
    for row in source.trace:
        for level, base in zip(row, snap, strict=True):
            if math.isinf(base):
                assert math.isinf(level)  # closed at soundcheck: left closed
            else:
                assert abs(level - base) <= 3.0 + QUANT_DB
    assert source.trace[-1][0] == pytest.approx(-7.0, abs=0.1)  # rode up to its range
    assert_slewed(source.trace, set(), STEP_DB + QUANT_DB)

    listener = x32_for(console, listen=True)
    before = [console.set_count(ch) for ch in range(1, 9)]
    recorder = AutomationRecorder([f"ch{i}" for i in range(8)])
    quiet = PacedSource(8, 20, lambda: True, lambda: [], {})
    engine = Engine(quiet, gains, [recorder, listener], hop_samples=HOP_SAMPLES)  # type: ignore[arg-type]
    try:
        engine.run()
        assert wait_until(lambda: "listening" in listener.status())
    finally:
        listener.close()
    assert [console.set_count(ch) for ch in range(1, 9)] == before  # no fader set at all
    assert recorder.rows[-1][0] > recorder.rows[0][0]  # the proposals still moved


def test_x32_lost_link_freezes_fast_sends_nothing_and_keeps_a_persons_outage_move(
    console: VirtualConsole,
) -> None:
    client = x32_for(console)
    gains = TargetGains(8, -6.0)
    recorder = AutomationRecorder([f"ch{i}" for i in range(8)])
    engine: Engine
    moved_to = 0.3  # -26 dB, set on the surface while we cannot hear it

    def pull_the_cable() -> None:
        console.paused = True
        assert wait_until(lambda: client.link_report().state is LinkState.LOST, 5.0)

    def outage_move() -> None:
        console.move_fader(3, moved_to)  # pushed to nobody: the link is down

    def plug_back() -> None:
        console.paused = False
        assert wait_until(lambda: client.link_report().state is LinkState.LIVE, 5.0)

    script = {15: pull_the_cable, 30: outage_move, 40: plug_back}
    source = PacedSource(
        8, 70, settled_x32(client), lambda: [console.fader_db(c) for c in range(1, 9)], script
    )
    engine = Engine(source, gains, [recorder, client], hop_samples=HOP_SAMPLES)  # type: ignore[arg-type]
    client.on_human_move = engine.human_move
    try:
        engine.run()
    finally:
        client.close()
    lost = [e for e in client.link.events if e.kind == "lost"]
    assert len(lost) == 1
    assert lost[0].t - lost[0].last_rx <= 1.0  # the link declared lost within 1 s of silence
    holds = [t for t, what in engine.stats.events if what.startswith("hold: lost")]
    assert holds and holds[0] - lost[0].last_rx <= 1.0  # and the engine froze within 1 s
    assert not any(a.endswith("/mix/fader") for a in console.missed)  # no set, no read, while lost
    assert any(a == "/xinfo" for a in console.missed)  # the heartbeat went on
    lost_rows = [k for k, link in enumerate(recorder.links) if link == "lost"]
    assert lost_rows
    assert client.link_report().held_db[2] == pytest.approx(console.fader_db(3))
    at_loss = recorder.rows[lost_rows[0]]
    assert np.allclose(at_loss, [source.trace[15][c] for c in range(8)], atol=0.01)
    # The fader moved during the outage is the person's: kept, held, not overwritten.
    assert console.fader(3) == pytest.approx(moved_to, abs=1e-3)
    assert engine.safety.channels[2].state is ChannelState.HUMAN
    assert client.overridden == {2}
    skip = {31}
    assert_slewed(source.trace, skip, STEP_DB + QUANT_DB)


def test_reaper_start_resync_and_lost_link() -> None:
    fake = FakeReaper(tracks=8)
    start = [-10.0, -5.0, -20.0, -3.0, -12.0, -math.inf, 0.0, -25.0]  # -inf: fully down
    fake.volumes = list(start)
    host, port = fake.address
    client = ReaperOscClient(
        host,
        port,
        list(range(1, 9)),
        listen_host="127.0.0.1",
        listen_port=0,
        min_interval_s=0.005,
        touch_release_s=0.02,
    ).connect()
    gains = TargetGains(8, 2.4)
    engine: Engine

    def settled() -> bool:
        return client.link_report().state is not LinkState.LIVE or client.flush(0.05)

    def pull() -> None:
        fake.paused = True
        assert wait_until(lambda: client.link_report().state is LinkState.LOST, 5.0)

    def outage_move() -> None:
        with fake.lock:
            fake.volumes[3] = -30.0  # in REAPER's mixer, while we cannot hear it

    def plug() -> None:
        fake.paused = False
        assert wait_until(lambda: client.link_report().state is LinkState.LIVE, 5.0)

    script = {
        10: pull,
        20: outage_move,
        25: plug,
        45: lambda: engine.safety.set_mode(Mode.BYPASS),
    }
    source = PacedSource(8, 120, settled, lambda: [float(v) for v in fake.volumes], script)
    engine = Engine(source, gains, [client], hop_samples=HOP_SAMPLES)  # type: ignore[arg-type]
    client.on_human_move = engine.human_move
    try:
        engine.run()
    finally:
        client.close()
        fake.close()
    assert source.trace[0] == start
    assert_slewed(source.trace, {21}, STEP_DB + 0.01)
    lost = [e for e in client.link.events if e.kind == "lost"]
    assert lost and lost[0].t - lost[0].last_rx <= 1.0
    assert not any("/volume/db" in a for a in fake.missed)  # nothing set while lost
    assert fake.volumes[3] == -30.0  # the outage move is kept
    assert client.overridden == {3}
    held = [c for c in range(8) if c != 3]
    assert [source.trace[-1][c] for c in held] == [start[c] for c in held]  # bypass: snapshot


def test_a_dead_output_worker_freezes_the_show_and_the_summary_says_so(
    console: VirtualConsole, tmp_path: Path
) -> None:
    import json

    from bridge.show import Show

    client = x32_for(console)
    gains = TargetGains(8, 2.4)

    def kill_the_worker() -> None:
        def boom(now: float) -> None:
            raise OverflowError("simulated")

        client._tick = boom  # type: ignore[method-assign]
        assert wait_until(lambda: client.link_report().state is LinkState.FAULT)

    source = PacedSource(
        8,
        30,
        settled_x32(client),
        lambda: [console.fader_db(c) for c in range(1, 9)],
        {10: kill_the_worker},
    )
    show = Show(source, gains, sinks=[client], folder=tmp_path, direct_mix=False)  # type: ignore[arg-type]
    show.engine.hop_samples = HOP_SAMPLES
    show.run()
    show.close()
    summary = json.loads(show.write_outputs().summary_json.read_text())  # type: ignore[union-attr]
    assert (
        summary["link_faults"] and "worker thread died: OverflowError" in summary["link_faults"][0]
    )
    assert show.engine.safety.mode is Mode.FREEZE
    assert source.trace[11:] == [source.trace[11]] * len(source.trace[11:])  # frozen
    assert "FAULT" in summary["outputs"][client.name]


def test_headless_shows_release_a_persons_fader_by_default() -> None:
    import argparse

    from bridge.cli import HEADLESS_HUMAN_HOLD_S
    from bridge.commands import _human_hold

    headless = argparse.Namespace(human_hold=None, headless=True)
    assert _human_hold(headless) == HEADLESS_HUMAN_HOLD_S
    assert _human_hold(argparse.Namespace(human_hold=3.0, headless=True)) == 3.0


def test_start_frozen_moves_nothing_until_a_channel_is_armed(console: VirtualConsole) -> None:
    client = x32_for(console)
    gains = TargetGains(8, 2.4)
    engine: Engine

    def arm_channel_1() -> None:
        engine.safety.set_state(0, ChannelState.AUTO)

    source = PacedSource(
        8,
        30,
        settled_x32(client),
        lambda: [console.fader_db(c) for c in range(1, 9)],
        {15: arm_channel_1},
    )
    engine = Engine(source, gains, [client], hop_samples=HOP_SAMPLES, start_frozen=True)  # type: ignore[arg-type]
    try:
        engine.run()
    finally:
        client.close()
    trace = source.trace
    assert all(row == trace[0] for row in trace[:16])  # nothing moved while all were locked
    assert trace[-1][0] > trace[0][0] and trace[-1][1:] == trace[0][1:]  # only the armed one
    assert_slewed(trace, set(), STEP_DB + QUANT_DB)
