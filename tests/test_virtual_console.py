"""The virtual X32 over real UDP on 127.0.0.1: sets, queries, /xremote, names, bad packets."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bridge.outputs.osc import OscArg, decode_message, encode_message
from bridge.outputs.x32.law import quantize
from bridge.virtual_console import VirtualConsole
from tests.paced import wait_until


class Peer:
    """A bare OSC client socket: what any program talking to the console looks like."""

    def __init__(self, console: VirtualConsole) -> None:
        self.console_address = console.address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return host, port

    def send(self, address: str, *args: OscArg) -> None:
        self.sock.sendto(encode_message(address, *args), self.console_address)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.console_address)

    def recv(self, timeout: float = 1.0) -> tuple[str, list[object]] | None:
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65536)
        except TimeoutError:
            return None
        return decode_message(data)

    def ask(self, address: str) -> list[object]:
        self.send(address)
        reply = self.recv()
        assert reply is not None, f"no reply to {address}"
        assert reply[0] == address
        return reply[1]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def console() -> Iterator[VirtualConsole]:
    with VirtualConsole(names=["Kick", "Snare", "Overheads left side"], channels=8) as c:
        yield c


@pytest.fixture
def peers(console: VirtualConsole) -> Iterator[list[Peer]]:
    made = [Peer(console) for _ in range(2)]
    yield made
    for p in made:
        p.close()


def test_set_and_query_are_quantised(console: VirtualConsole, peers: list[Peer]) -> None:
    a = peers[0]
    a.send("/ch/02/mix/fader", 0.3)
    assert a.ask("/ch/02/mix/fader") == [pytest.approx(quantize(0.3), abs=1e-7)]
    assert console.fader(2) == quantize(0.3) == 307 / 1023
    assert console.fader_db(2) == pytest.approx(80 * 307 / 1023 - 50)
    assert console.set_count(2) == 1
    assert [(s.channel, s.value, s.sender) for s in console.history] == [(2, 307 / 1023, a.address)]
    a.send("/ch/02/mix/fader", 1.7)  # out of range: the console clamps
    assert a.ask("/ch/02/mix/fader") == [1.0]
    assert console.fader(1) == quantize(0.75)  # untouched channels keep the default


def test_xinfo_info_status(console: VirtualConsole, peers: list[Peer]) -> None:
    a = peers[0]
    assert a.ask("/xinfo") == ["127.0.0.1", "AiLive-Virtual", "X32", "4.06"]
    assert a.ask("/info")[1:] == ["AiLive-Virtual", "X32", "4.06"]
    assert a.ask("/status") == ["active", "127.0.0.1", "AiLive-Virtual"]


def test_xremote_pushes_to_others_not_back(console: VirtualConsole, peers: list[Peer]) -> None:
    a, b = peers
    a.send("/xremote")
    b.send("/xremote")
    assert wait_until(lambda: len(console.subscribers()) == 2)
    a.send("/ch/03/mix/fader", 0.5)
    assert b.recv() == ("/ch/03/mix/fader", [pytest.approx(quantize(0.5), abs=1e-7)])
    b.send("/ch/01/config/name", "Bass DI")
    assert a.recv() == ("/ch/01/config/name", ["Bass DI"])
    # Neither got its own change back: the next thing each hears is the surface move.
    console.move_fader(4, 0.25)
    for peer in (a, b):
        assert peer.recv() == ("/ch/04/mix/fader", [pytest.approx(quantize(0.25), abs=1e-7)])
        assert peer.recv(timeout=0.05) is None


def test_xremote_expires() -> None:
    with VirtualConsole(xremote_timeout_s=0.15) as console:
        a, b = Peer(console), Peer(console)
        try:
            b.send("/xremote")
            assert wait_until(lambda: console.subscribers() == [b.address])
            assert wait_until(lambda: console.subscribers() == [])
            a.send("/ch/01/mix/fader", 0.1)
            console.move_fader(2, 0.2)
            assert b.recv(timeout=0.1) is None
            assert console.fader(1) == quantize(0.1)
        finally:
            a.close()
            b.close()


def test_names_truncated_to_12(console: VirtualConsole, peers: list[Peer]) -> None:
    a = peers[0]
    assert console.names == ["Kick", "Snare", "Overheads le", "", "", "", "", ""]
    assert a.ask("/ch/01/config/name") == ["Kick"]
    assert a.ask("/ch/03/config/name") == ["Overheads le"]
    a.send("/ch/05/config/name", "Lead vocal (Anna)")
    assert a.ask("/ch/05/config/name") == ["Lead vocal ("]


def test_mix_on(console: VirtualConsole, peers: list[Peer]) -> None:
    a = peers[0]
    assert a.ask("/ch/06/mix/on") == [1]
    a.send("/ch/06/mix/on", 0)
    assert a.ask("/ch/06/mix/on") == [0]
    assert console.mix_on(6) == 0


def test_bad_packets_are_ignored(console: VirtualConsole, peers: list[Peer]) -> None:
    a = peers[0]
    for junk in (b"", b"\x00\x01\x02", b"/ch/01/mix/fader", b"#bundle\x00\x00\x00\x00\x00"):
        a.send_raw(junk)
    a.send("/ch/01/mix/fader", "loud")  # wrong argument type
    a.send("/ch/09/mix/fader", 0.2)  # beyond this console's 8 channels
    a.send("/no/such/thing", 1)
    assert a.ask("/ch/01/mix/fader") == [pytest.approx(quantize(0.75), abs=1e-7)]
    assert console.set_count(1) == 0
    a.send("/ch/09/mix/fader")
    assert a.recv(timeout=0.05) is None


def test_loss_drops_some_incoming_packets() -> None:
    with VirtualConsole(loss=0.5, seed=3) as console:
        a = Peer(console)
        try:
            for k in range(40):
                a.send("/ch/01/mix/fader", k / 100)
            assert wait_until(lambda: console.set_count(1) + console.dropped == 40)
            assert 0 < console.dropped < 40
        finally:
            a.close()


def test_standalone_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.virtual_console", "--port", "0", "--channels", "4", "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # 'virtual X32 on 127.0.0.1:PORT (Ctrl-C to stop)'
        port = int(line.split()[3].split(":")[1])
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2.0)
        sock.sendto(encode_message("/xinfo"), ("127.0.0.1", port))
        assert decode_message(sock.recvfrom(65536)[0])[0] == "/xinfo"
        sock.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert "/xinfo" in err  # -v logs what it receives


def test_start_levels_and_at_most_four_xremote_clients() -> None:
    from bridge.outputs.x32.law import db_to_fader
    from bridge.virtual_console import MAX_XREMOTE, parse_faders

    levels = parse_faders("-10,-5,-inf,0")
    assert levels[2] == float("-inf")
    with pytest.raises(ValueError, match="not a level"):
        parse_faders("-10,loud")
    with pytest.raises(ValueError, match=r"-90\.\.10"):
        parse_faders("-200")
    with VirtualConsole(channels=8, faders_db=levels) as console:
        assert [console.fader(ch) for ch in range(1, 6)] == [
            quantize(db_to_fader(-10.0)),
            quantize(db_to_fader(-5.0)),
            0.0,
            quantize(0.75),
            quantize(0.75),  # not given: the default
        ]
        peers = [Peer(console) for _ in range(MAX_XREMOTE + 2)]
        try:
            for peer in peers:
                peer.send("/xremote")
                assert peer.ask("/xinfo")  # the console has seen the /xremote by now
            served = console.subscribers()
            assert len(served) == MAX_XREMOTE
            assert set(served) == {p.address for p in peers[:MAX_XREMOTE]}
            console.move_fader(1, 0.4)
            assert peers[0].recv() is not None
            assert peers[-1].recv(timeout=0.2) is None  # the refused client hears nothing
        finally:
            for peer in peers:
                peer.sock.close()
