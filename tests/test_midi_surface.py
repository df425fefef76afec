"""MidiSurface round trips over real MIDI transports: JACK MIDI (a dummy jackd started here) and
mido's MIDI-over-TCP sockets, against `tests.fakes.FakeMackieHost` (a DAW taking Mackie Control
as REAPER's csurf_mcu.cpp does) and a bare controller for generic CC."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import mido
import numpy as np
import pytest
from mido.sockets import SocketPort

from bridge.outputs.base import GainSink
from bridge.outputs.midi import mackie
from bridge.outputs.midi.law import LinearDbLaw, db_to_value
from bridge.outputs.midi.mappings import CcMapping, MackieMapping
from bridge.outputs.midi.ports import MidiPort, MidiPortError, PolledInput, open_port
from bridge.outputs.midi.surface import MidiSurface
from tests.fakes import FakeMackieHost, HostLoop, send_to
from tests.paced import wait_until

WAIT_S = 60.0
"""Generous limit for what a busy machine delays (never a sleep a test relies on)."""

LAW = LinearDbLaw(-60.0, 12.0)


def value(db: float) -> int:
    return db_to_value(LAW, db, mackie.MAX_VALUE)


@pytest.fixture
def tcp_pair() -> Iterator[tuple[MidiPort, SocketPort]]:
    """(our port, the host's end) over mido's MIDI-over-TCP sockets on 127.0.0.1."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    ours = open_port("tcp", host="127.0.0.1", port=port)
    conn, (host, peer) = listener.accept()
    theirs = SocketPort(host, peer, conn=conn)  # PortServer.poll() would block forever in 1.3.3
    yield ours, theirs
    theirs.close()
    listener.close()


def mackie_round_trip(ours: MidiPort, their_in: Any, their_out: Any) -> None:
    """The same checks over any transport: levels land inside touch, a person is honoured."""
    host = FakeMackieHost(send_to(their_out), tracks=8)
    loop = HostLoop(host, their_in)
    calls: list[tuple[int, float]] = []
    moved = threading.Event()

    def on_move(index: int, db: float) -> None:
        calls.append((index, db))
        moved.set()

    surface = MidiSurface(
        ours, MackieMapping([1, 2, 3]), LAW, on_human_move=on_move, touch_release_s=0.05
    )
    try:
        assert isinstance(surface, GainSink)
        surface.send(np.array([-10.0, 0.0, 6.0]), 0.0)
        assert surface.flush(WAIT_S)
        assert wait_until(lambda: host.positions[:3] == [value(-10.0), value(0.0), value(6.0)])
        assert wait_until(lambda: [on for t, on in host.touch_log if t == 1] == [True, False])
        assert wait_until(lambda: surface.surface_value(0) == value(-10.0))  # the host's echo
        assert surface.overridden == frozenset()
        host.person_moves(2, value(-3.0))
        assert moved.wait(WAIT_S)
        assert calls[0][0] == 1 and calls[0][1] == pytest.approx(-3.0, abs=0.01)
        surface.send(np.array([-11.0, -11.0, -11.0]), 0.1)
        surface.send(np.array([-11.5, -11.5, -11.5]), 0.15)
        # The host reads one ordered stream: once the later gains landed on strips 1 and 3,
        # anything sent for strip 2 before them has been read too.
        assert wait_until(lambda: host.positions[0] == host.positions[2] == value(-11.5))
        assert host.positions[1] == value(-3.0)  # not fought over
        surface.release(1)
        surface.send(np.array([-12.0, -12.0, -12.0]), 0.2)
        assert wait_until(lambda: host.positions[1] == value(-12.0))
    finally:
        surface.close()
        loop.stop()


# --- transports --------------------------------------------------------------------------------


def test_mackie_round_trip_over_tcp(tcp_pair: tuple[MidiPort, SocketPort]) -> None:
    ours, theirs = tcp_pair
    mackie_round_trip(ours, theirs, theirs)


def jack_connected(server: str, client: str) -> bool:
    """Whether JACK has connected every MIDI port of `client` (it does so on a later cycle)."""
    import jack

    probe = jack.Client("probe-connections", servername=server, no_start_server=True)
    try:
        ports = probe.get_ports(f"{client}:", is_midi=True)
        return bool(ports) and all(probe.get_all_connections(p) for p in ports)
    finally:
        probe.close()


@pytest.fixture(scope="module")
def jack_server() -> Iterator[str]:
    """A dummy jackd under a unique name (no sound card needed), for JACK MIDI."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    jack = pytest.importorskip("jack", reason="JACK-Client is not installed")
    name = f"ailive-midi-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    cmd = ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                jack.Client("probe", servername=name, no_start_server=True).close()
                break
            except jack.JackOpenError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"jackd did not start (exit status {proc.poll()})")
                time.sleep(0.05)
        yield name
    finally:
        proc.terminate()
        proc.wait(5)
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def test_mackie_round_trip_over_jack_midi(jack_server: str) -> None:
    ours = open_port("jack", "ailive-mcu", virtual=True, client_name="AiLive")
    backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
    # The host's side reads by polling too: a mido input (a Python callback on JACK's thread)
    # can hang the process when it closes on a busy machine (bridge.outputs.midi.ports).
    import rtmidi

    their_in = PolledInput(rtmidi.API_UNIX_JACK, "ailive-mcu", virtual=False, client_name="Host")
    their_out = backend.open_output(
        next(n for n in backend.get_output_names() if "ailive-mcu" in n)
    )
    try:
        assert wait_until(lambda: jack_connected(jack_server, "AiLive"), WAIT_S)
        mackie_round_trip(ours, their_in, their_out)
    finally:
        their_in.close()
        their_out.close()


def test_missing_ports_are_named(jack_server: str) -> None:
    with pytest.raises(MidiPortError, match="no MIDI output port named like 'X-Touch'"):
        open_port("jack", "X-Touch", virtual=False)
    with pytest.raises(MidiPortError, match=r"127\.0\.0\.1:1"):
        open_port("tcp", host="127.0.0.1", port=1)


# --- banks and generic CC ----------------------------------------------------------------------


def test_banks_beyond_eight_strips(tcp_pair: tuple[MidiPort, SocketPort]) -> None:
    ours, theirs = tcp_pair
    host = FakeMackieHost(send_to(theirs), tracks=12, offset=8)  # left on bank 2 by someone
    loop = HostLoop(host, theirs)
    tracks = [1, 2, 9, 10, 12]
    surface = MidiSurface(ours, MackieMapping(tracks), LAW, touch_release_s=0.05)
    try:
        gains = [-1.0, -2.0, -9.0, -10.0, -12.0]
        surface.send(np.array(gains), 0.0)
        assert surface.flush(2.0)
        want = [0] * 12
        for t, g in zip(tracks, gains, strict=True):
            want[t - 1] = value(g)
        assert wait_until(lambda: host.positions == want)
        assert wait_until(lambda: host.touched == set())
        assert surface.overridden == frozenset()  # bank refreshes are not a person
        # Track 12 sits on strip 3 of the bank starting at track 9 (REAPER banks +8 from 1).
        assert "bank at track" in surface.status()
    finally:
        surface.close()
        loop.stop()


def test_generic_cc_14_bit_round_trip(tcp_pair: tuple[MidiPort, SocketPort]) -> None:
    ours, theirs = tcp_pair
    received: list[bytes] = []
    loop = HostLoop(None, theirs, received)
    moved = threading.Event()
    calls: list[tuple[int, float]] = []

    def on_move(index: int, db: float) -> None:
        calls.append((index, db))
        moved.set()

    law = LinearDbLaw(-60.0, 6.0)
    mapping = CcMapping([(1, 7), (2, 7)], bits=14)
    surface = MidiSurface(ours, mapping, law, on_human_move=on_move)
    try:
        surface.send(np.array([-27.0, 6.0]), 0.0)
        assert surface.flush(WAIT_S)
        half = db_to_value(law, -27.0, 16383)
        want = [bytes((0xB0, 7, half >> 7)), bytes((0xB0, 39, half & 0x7F))]
        want += [bytes.fromhex("B1 07 7F"), bytes.fromhex("B1 27 7F")]
        assert wait_until(lambda: received == want)
        # A motor fader controller: a person pushes fader 2 (MSB then LSB).
        send = send_to(theirs)
        send(bytes.fromhex("B1 07 40"))
        send(bytes.fromhex("B1 27 00"))
        assert moved.wait(WAIT_S)
        assert calls == [(1, pytest.approx(-27.0, abs=0.01))]
        surface.send(np.array([-30.0, -30.0]), 0.1)
        surface.send(np.array([-31.0, -31.0]), 0.2)
        last = db_to_value(law, -31.0, 16383)
        # One ordered stream: once fader 1's later LSB is read, all sent before it is too.
        assert wait_until(lambda: bytes((0xB0, 39, last & 0x7F)) in received[4:])
        assert all(m[0] == 0xB0 for m in received[4:])  # channel 2 is left alone
    finally:
        surface.close()
        loop.stop()


def test_garbage_from_the_host_never_kills_the_surface(
    tcp_pair: tuple[MidiPort, SocketPort],
) -> None:
    """100k random bytes from the other side (a broken host, a noisy link): dropped; a person's
    move afterwards is still seen."""
    ours, theirs = tcp_pair
    calls: list[tuple[int, float]] = []
    surface = MidiSurface(
        ours, MackieMapping([1, 2]), LAW, on_human_move=lambda i, db: calls.append((i, db))
    )
    try:
        surface.send(np.array([-10.0, -10.0]), 0.0)
        assert surface.flush(2.0)
        rng = np.random.default_rng(5)
        conn = theirs._socket  # type: ignore[attr-defined]
        for _ in range(100):
            conn.sendall(rng.integers(0, 256, 1000, dtype=np.uint8).tobytes())
        conn.sendall(bytes((0x90, 0x69, 0x00, 0xF7, 0xF7)))  # end any half-read message
        assert surface.link_report().state == "live"
        send_to(theirs)(mackie.fader(1, value(-3.0)))
        assert wait_until(lambda: any(i == 1 and abs(db + 3.0) < 0.05 for i, db in calls), 5.0)
        assert surface.link_report().state == "live"
    finally:
        surface.close()
