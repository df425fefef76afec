"""Receive paths that cannot die: 100k malformed datagrams at each client (from the peer's own
address, so they pass the sender check) and at the virtual console; afterwards the client still
sees a person's move and the console still answers. A dead worker is a fault, not silence."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from bridge.outputs.link import LinkState
from bridge.outputs.osc import encode_message
from bridge.outputs.reaper.client import ReaperOscClient
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.law import fader_to_db, quantize
from bridge.virtual_console import VirtualConsole
from tests.fakes import FakeReaper
from tests.paced import wait_until

COUNT = 100_000


def garbage(seed: int) -> Iterator[bytes]:
    """Malformed and hostile datagrams: the ones that killed threads, and random mutations."""
    rng = np.random.default_rng(seed)
    known = [
        b"/ch/01/mix/fader\0\0\0\0,d\0\0" + struct.pack(">d", 1e300),
        b"/ch/01/mix/fader\0\0\0\0,h\0\0" + struct.pack(">q", 2**40),
        b"/track/1/volume/str\0,s\0\0\xb2\0\0\0",
        b"/track/1/number/str\0,s\0\0\xc2\xb2\0\0",
        b"/ch/01/mix/fader\0\0\0\0,f\0\0" + struct.pack(">f", float("nan")),
        b"/track/1/volume/db\0\0,f\0\0" + struct.pack(">f", float("inf")),
        b"#bundle\0" + b"\xff" * 12,
        b"/xinfo\0\0,ssss\0\0\0",
        b"",
    ]
    real = [encode_message("/ch/01/mix/fader", 0.5), encode_message("/track/1/volume/db", -3.0)]
    for k in range(COUNT):
        if k % 3 == 0:
            yield known[k % len(known)]
        elif k % 3 == 1:
            data = bytearray(real[k % 2])
            for _ in range(int(rng.integers(1, 4))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            yield bytes(data[: int(rng.integers(1, len(data) + 1))])
        else:
            yield rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()


def blast(send: object, to: tuple[str, int], seed: int) -> None:
    for k, data in enumerate(garbage(seed)):
        send(data, to)  # type: ignore[operator]
        if k % 2000 == 0:
            # Let the receiver drain: a full buffer only drops datagrams, it tests nothing.
            wait_until(lambda: False, timeout=0.002)


def until_seen(send: Callable[[], object], seen: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Send a sentinel behind the garbage until it is seen (a full buffer may drop a copy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send()
        if wait_until(seen, timeout=0.2):
            return True
    return False


def test_x32_client_and_console_survive_100k_bad_datagrams() -> None:
    with VirtualConsole(channels=4) as console:
        host, port = console.address
        moves: list[tuple[int, float]] = []
        with X32Client(
            host, port, channels=[1, 2], on_human_move=lambda i, db: moves.append((i, db))
        ) as client:
            local = client.local_address
            assert local is not None
            to_client = ("127.0.0.1", local[1])
            blast(console.send_as_console, to_client, seed=1)
            # A valid message behind the garbage: once the client shows it, it read everything.
            sentinel = encode_message("/ch/01/config/name", "SENTINEL")
            assert until_seen(
                lambda: console.send_as_console(sentinel, to_client),
                lambda: client.names[0] == "SENTINEL",
            )
            assert client.guard.total_dropped > COUNT // 10
            assert client.link_report().state is LinkState.LIVE
            peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                blast(peer.sendto, console.address, seed=2)  # at the console
                peer.settimeout(0.0)
                replies: list[bytes] = []

                def answered() -> bool:
                    try:
                        while True:
                            replies.append(peer.recvfrom(65536)[0])
                    except BlockingIOError:
                        return any(r.startswith(b"/xinfo") for r in replies)

                ask = encode_message("/xinfo")  # answered once the console got through the rest
                assert until_seen(lambda: peer.sendto(ask, console.address), answered)
            finally:
                peer.close()
            assert console.guard.total_dropped > COUNT // 10
            # A console busy with a flood may miss heartbeats (then the link was lost, which is
            # right); afterwards it is live again and a person's move is seen.
            assert wait_until(lambda: client.link_report().state is LinkState.LIVE)
            console.move_fader(2, 0.3)
            person = (1, pytest.approx(fader_to_db(quantize(0.3))))
            assert wait_until(lambda: person in moves)
            assert 1 in client.overridden
            assert client.flush(2.0)  # the console still answers its reads


def test_reaper_client_survives_100k_bad_datagrams_and_checks_the_port() -> None:
    fake = FakeReaper(tracks=2)
    host, port = fake.address
    try:
        with ReaperOscClient(host, port, [1, 2], listen_host="127.0.0.1", listen_port=0) as client:
            local = client.local_address
            assert local is not None
            impostor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            impostor.bind(("127.0.0.1", 0))  # same host, another port: not REAPER
            try:
                impostor.sendto(encode_message("/track/1/volume/db", -30.0), local)
                assert wait_until(lambda: client.guard.dropped["stranger"] >= 1)
            finally:
                impostor.close()
            assert client.overridden == frozenset()  # the impostor's "move" was not believed
            blast(fake.sock.sendto, ("127.0.0.1", local[1]), seed=3)
            # REAPER renames slot 2 behind the garbage: once the client shows it, it read all.
            rename = encode_message("/track/2/name", "SENTINEL")
            assert until_seen(
                lambda: fake.sock.sendto(rename, ("127.0.0.1", local[1])),
                lambda: client.names[1] == "SENTINEL",
            )
            assert client.guard.total_dropped > COUNT // 10
            assert client.link_report().state is LinkState.LIVE
            moves: list[tuple[int, float]] = []
            client.on_human_move = lambda i, db: moves.append((i, db))
            fake.person_moves(2, -4.5)
            assert wait_until(lambda: (1, pytest.approx(-4.5)) in moves)
            assert 1 in client.overridden
    finally:
        fake.close()


def test_a_dead_worker_is_a_fault_that_freezes() -> None:
    with VirtualConsole(channels=2) as console:
        host, port = console.address
        with X32Client(host, port, channels=[1]) as client:

            def boom(now: float) -> None:
                raise MemoryError("simulated")

            client._tick = boom  # type: ignore[method-assign]
            assert wait_until(lambda: client.link_report().state is LinkState.FAULT)
            assert "worker thread died: MemoryError" in client.status()
            sets = console.set_count(1)
            client.send(np.array([-20.0]), 0.0)
            assert not client.flush(0.2)
            assert console.set_count(1) == sets  # nothing is sent after the fault
