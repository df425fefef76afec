"""make_sink builds each output kind from a profile and drives only mapped, unprotected channels,
over real UDP (virtual console, fake REAPER) and real MIDI-over-TCP (fake Mackie host)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mido.sockets import SocketPort

from bridge.outputs.base import GainSink
from bridge.outputs.factory import SinkError, driven, make_sink
from bridge.outputs.midi.law import db_to_value
from bridge.outputs.x32.law import db_to_fader, quantize
from bridge.outputs.x32.models import X32, XAIR
from bridge.profiles import Profile, parse_profile
from bridge.virtual_console import VirtualConsole
from tests.fakes import FakeMackieHost, FakeReaper, HostLoop, send_to
from tests.paced import wait_until

CHANNELS = [
    {"capture": 1, "strip": 1, "name": "Kick"},
    {"capture": 2, "strip": 2},
    {"capture": 3, "strip": 3, "protected": True},  # talkback: never touched
    {"capture": 5, "strip": 4},
]
SHOW = [0, 1, 2, 4]
"""The show's capture channels (0-based): show index 3 is capture 5, on strip 4."""


def profile(**fields: Any) -> Profile:
    return parse_profile({"channels": CHANNELS, **fields}, Path("test.toml"))


class Moves:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []
        self.event = threading.Event()

    def __call__(self, index: int, db: float) -> None:
        self.calls.append((index, db))
        self.event.set()


def test_driven_skips_protected_and_unmapped() -> None:
    p = profile(output="x32")
    assert [(i, m.strip) for i, m in driven(p, SHOW)] == [(0, 1), (1, 2), (3, 4)]
    assert [(i, m.strip) for i, m in driven(p, [4, 7])] == [(0, 4)]
    with pytest.raises(SinkError, match="none of these channels"):
        make_sink(p, [2, 7])


@pytest.mark.parametrize("kind", ["x32", "xair"])
def test_console_outputs(kind: str) -> None:
    model = XAIR if kind == "xair" else X32
    with VirtualConsole(
        channels=8, names=["Kick", "Snare", "Talk", "Bass"], model=model
    ) as console:
        host, port = console.address
        moves = Moves()
        sink = make_sink(profile(output=kind), SHOW, host=host, port=port, on_human_move=moves)
        try:
            assert isinstance(sink, GainSink)
            assert sink.name.startswith("X32" if kind == "x32" else "X-Air")
            assert sink.names == ["Kick", "Snare", "", "Bass"]
            sink.send(np.array([-10.0, -20.0, -30.0, -5.0]), 0.0)
            assert sink.flush(2.0)
            want = {1: -10.0, 2: -20.0, 4: -5.0}
            assert all(console.fader(ch) == quantize(db_to_fader(db)) for ch, db in want.items())
            assert console.set_count(3) == 0  # the protected channel
            console.move_fader(4, 0.5)
            assert moves.event.wait(60.0)
            assert moves.calls[0][0] == 3 and sink.overridden == {3}
            sink.release(3)
            assert sink.overridden == frozenset()
        finally:
            sink.close()


def test_reaper_output() -> None:
    fake = FakeReaper(tracks=8)
    host, port = fake.address
    try:
        p = profile(output="reaper", host=host, port=port, listen_port=0, bank_size=8)
        sink = make_sink(p, SHOW)
        try:
            assert sink.name == f"REAPER {host}:{port}"
            sink.send(np.array([-10.0, -20.0, -30.0, -5.0]), 0.0)
            assert sink.flush(2.0)
            assert fake.volumes[:4] == [-10.0, -20.0, 0.0, -5.0]
            assert wait_until(lambda: sink.names == ["Track 1", "Track 2", "", "Track 4"])
        finally:
            sink.close()
    finally:
        fake.close()


@pytest.fixture
def tcp_host() -> Iterator[tuple[socket.socket, int]]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    yield listener, listener.getsockname()[1]
    listener.close()


def accept(listener: socket.socket) -> SocketPort:
    conn, (host, port) = listener.accept()
    return SocketPort(host, port, conn=conn)


def test_mackie_output_over_tcp(tcp_host: tuple[socket.socket, int]) -> None:
    listener, port = tcp_host
    p = profile(output="mackie", midi_transport="tcp", host="127.0.0.1", port=port)
    sink = make_sink(p, SHOW)
    theirs = accept(listener)
    host = FakeMackieHost(send_to(theirs), tracks=8)
    loop = HostLoop(host, theirs)
    try:
        assert sink.name == f"Mackie tcp 127.0.0.1:{port}"
        sink.send(np.array([-10.0, -20.0, -30.0, -5.0]), 0.0)
        assert sink.flush(2.0)
        law = p.law
        assert law is not None
        want = [db_to_value(law, db, 16383) for db in (-10.0, -20.0)] + [0, 0]
        want[3] = db_to_value(law, -5.0, 16383)
        assert wait_until(lambda: host.positions[:4] == want)
    finally:
        sink.close()
        loop.stop()
        theirs.close()


def test_cc_output_over_tcp(tcp_host: tuple[socket.socket, int]) -> None:
    listener, port = tcp_host
    p = profile(output="cc", midi_transport="tcp", host="127.0.0.1", port=port, cc_bits=7)
    sink = make_sink(p, SHOW)
    theirs = accept(listener)
    received: list[bytes] = []
    loop = HostLoop(None, theirs, received)
    try:
        sink.send(np.array([-60.0, 6.0, 0.0, 6.0]), 0.0)
        assert sink.flush(1.0)
        # MIDI channel = strip by default, CC 7; the protected channel (strip 3) is silent.
        want = [bytes.fromhex("B0 07 00"), bytes.fromhex("B1 07 7F"), bytes.fromhex("B3 07 7F")]
        assert wait_until(lambda: sorted(received) == sorted(want))
    finally:
        sink.close()
        loop.stop()
        theirs.close()


def test_unreachable_outputs_name_the_profile() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        p = profile(output="x32", name="stage-left")
        with pytest.raises(SinkError, match=r"profile 'stage-left' \(x32\): no answer"):
            make_sink(p, SHOW, host="127.0.0.1", port=port)
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        closed.bind(("127.0.0.1", 0))
        tcp_port = closed.getsockname()[1]
        closed.close()  # nothing listens there now
        q = profile(output="cc", name="faders", midi_transport="tcp", port=tcp_port)
        with pytest.raises(SinkError, match=r"profile 'faders' \(cc\): cannot connect"):
            make_sink(q, SHOW)
    finally:
        silent.close()
