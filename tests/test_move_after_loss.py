"""A person's move after a long lossy stretch, over real UDP: the fault drill's finding.

The model rides a fader up and down for a while through packet loss (both ways to the virtual
X32; into the fake REAPER), so the client has sent every level of the ride many times. Then a
person pulls the fader to a level the model passed through recently. That move must be seen and
held, never taken for a late echo or a stale read-back of our own sets and overwritten.
"""

from __future__ import annotations

import threading
from functools import partial

import numpy as np
import pytest

from bridge.outputs.reaper.client import ReaperOscClient
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.law import db_to_fader, fader_to_db, quantize
from bridge.virtual_console import VirtualConsole
from tests.fakes import FakeReaper, f32
from tests.paced import wait_until

RIDE_DB = [*np.arange(-30.0, -5.0, 0.5), *np.arange(-5.0, -30.0, -0.5), -30.0]
"""One ride of the model: -30 dB up to -5 dB and back, in 0.5 dB steps (101 sets)."""
RIDES = 5
FINAL_DB = list(np.arange(-29.5, -11.5, 0.5))
"""The model rides up once more, to -12 dB, just before the person's move."""
PERSON_DB = -20.0
"""Where the person pulls the fader: passed in every ride and 16 sets before the end of the last."""
OTHER_DB = -10.0


class Moves:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.lock = threading.Lock()

    def __call__(self, index: int, db: float) -> None:
        with self.lock:
            self.calls.append((index, db))


def target(db: float) -> float:
    return quantize(db_to_fader(db))


def test_x32_sees_a_move_to_a_level_the_model_rode_through_after_loss() -> None:
    moves = Moves()
    with VirtualConsole(channels=2, loss=0.1, reply_loss=0.1, seed=11) as console:
        host, port = console.address
        client = X32Client(
            host,
            port,
            channels=[1, 2],
            on_human_move=moves,
            min_interval_s=0.0,  # every level goes out: the ride is all sets
            lost_after_s=5.0,  # the lossy pauses below are no outage: not what this tests
        )
        with client:
            t = 0.0
            for ride in range(RIDES):
                if ride == RIDES - 1:
                    # The last read-back's reply is lost: a reply is still due while the model
                    # rides up again. (Set before the ride: on a busy machine the read-back can
                    # be made and answered before this thread runs again after the ride.)
                    console.reply_loss = 1.0
                asked = console.query_count(1)  # before the ride, for the same reason
                for db in RIDE_DB:
                    client.send(np.array([db, OTHER_DB]), t)
                    t += 0.05
                # Quiet: the client reads the fader back through the loss (replies may be
                # stale: the console missed our last sets).
                assert wait_until(partial(lambda n: console.query_count(1) > n, asked))
            assert console.dropped > 0 and console.replies_dropped > 0
            assert client.overridden == frozenset()  # lost packets are not a person
            console.loss = console.reply_loss = 0.0  # the last ride reaches the console
            for db in FINAL_DB:
                client.send(np.array([db, OTHER_DB]), t)
                t += 0.05
            assert wait_until(lambda: console.fader(1) == target(FINAL_DB[-1]))
            sets_at_move = console.set_count(1)

            console.move_fader(1, target(PERSON_DB))  # a person pulls channel 1 down

            assert wait_until(lambda: bool(moves.calls))
            assert moves.calls == [(0, pytest.approx(fader_to_db(target(PERSON_DB))))]
            assert client.overridden == {0}
            # The model goes on; channel 2 follows it, channel 1 stays where the person put it.
            for db in (-8.0, -6.0, -4.0):
                client.send(np.array([db, db]), t)
                t += 0.05
                assert wait_until(partial(lambda d: console.fader(2) == target(d), db))
            assert client.flush(60.0)
            assert console.fader(1) == target(PERSON_DB)
            assert console.set_count(1) == sets_at_move


def test_reaper_sees_a_move_to_a_level_the_model_rode_through_after_loss() -> None:
    moves = Moves()
    fake = FakeReaper(tracks=2, loss=0.1, seed=5)
    host, port = fake.address
    try:
        client = ReaperOscClient(
            host,
            port,
            [1, 2],
            listen_host="127.0.0.1",
            listen_port=0,
            on_human_move=moves,
            min_interval_s=0.0,
            touch_release_s=0.05,
            lost_after_s=5.0,
        )
        with client:
            assert wait_until(lambda: client.connected)
            t = 0.0
            for _ in range(RIDES):
                for k, db in enumerate(RIDE_DB):
                    client.send(np.array([db, OTHER_DB]), t)
                    t += 0.05
                    if k % 16 == 15:  # no rate limit: keep what is in flight under PENDING_MAX
                        assert client.flush(60.0)  # a lost last set is sent again
                assert client.flush(60.0)
            assert fake.dropped > 0
            # Lost packets are not a person. (On failure: what was taken for a person, and the
            # fake's last applied sets, to tell a misread echo from a stray datagram.)
            assert client.overridden == frozenset(), (moves.calls, fake.sets[-12:])
            fake.loss = 0.0
            for db in FINAL_DB:  # 36 sets, in a burst but without loss
                client.send(np.array([db, OTHER_DB]), t)
                t += 0.05
            assert client.flush(60.0)  # REAPER's feedback showed the last level of the ride
            sets_at_move = sum(1 for track, _ in fake.sets if track == 1)

            fake.person_moves(1, PERSON_DB)  # someone drags track 1 in REAPER's mixer

            assert wait_until(lambda: bool(moves.calls))
            assert moves.calls == [(0, PERSON_DB)]
            assert client.overridden == {0}
            for db in (-8.0, -6.0, -4.0):
                client.send(np.array([db, db]), t)
                t += 0.05
                assert wait_until(partial(lambda d: fake.volumes[1] == f32(d), db))
            assert client.flush(60.0)
            assert fake.volumes[0] == PERSON_DB
            assert sum(1 for track, _ in fake.sets if track == 1) == sets_at_move
    finally:
        fake.close()
