"""X-Air/MR support: the address table, and X32Client(model=XAIR) against the virtual console
configured as an X-Air, over real UDP."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bridge.outputs.osc import decode_message, encode_message
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.law import db_to_fader, quantize
from bridge.outputs.x32.models import X32, XAIR, console_model
from bridge.virtual_console import VirtualConsole


def test_address_tables() -> None:
    assert (XAIR.port, XAIR.channels, XAIR.main_fader) == (10024, 16, "/lr/mix/fader")
    assert (X32.port, X32.channels, X32.main_fader) == (10023, 32, "/main/st/mix/fader")
    assert XAIR.fader_address(1) == "/ch/01/mix/fader"
    assert XAIR.name_address(16) == "/ch/16/config/name"
    assert XAIR.on_address(9) == "/ch/09/mix/on"
    with pytest.raises(ValueError, match=r"X-Air channel must be 1\.\.16, got 17"):
        XAIR.fader_address(17)
    assert X32.fader_address(32) == "/ch/32/mix/fader"
    assert console_model("xair") is XAIR
    with pytest.raises(ValueError, match="allowed"):
        console_model("sq5")


def test_xair_client_drives_faders_reads_names_and_yields_to_a_person() -> None:
    moved = threading.Event()
    calls: list[tuple[int, float]] = []

    def on_move(index: int, db: float) -> None:
        calls.append((index, db))
        moved.set()

    with VirtualConsole(model=XAIR, names=["Kick", "Snare", "Bass"]) as console:
        assert console.channels == 16
        host, port = console.address
        with pytest.raises(ValueError, match="X-Air channel"):
            X32Client(host, port, channels=[17], model=XAIR)
        with X32Client(host, port, channels=[1, 2, 3], model=XAIR, on_human_move=on_move) as c:
            assert c.name == f"X-Air {host}:{port}"
            assert c.names == ["Kick", "Snare", "Bass"]
            c.send(np.array([-10.0, -20.0, 3.0]), 0.0)
            assert c.flush(2.0)
            assert [console.fader(ch) for ch in (1, 2, 3)] == [
                quantize(db_to_fader(db)) for db in (-10.0, -20.0, 3.0)
            ]
            console.move_fader(2, 0.3)
            assert moved.wait(60.0)
            assert calls[0][0] == 1 and c.overridden == {1}


def test_virtual_xair_answers_as_an_xr18_on_its_main_fader() -> None:
    import socket

    with VirtualConsole(model=XAIR) as console:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1.0)
        try:
            sock.sendto(encode_message("/xinfo"), console.address)
            address, args = decode_message(sock.recv(1024))
            assert address == "/xinfo" and args[2] == "XR18"
            sock.sendto(encode_message("/lr/mix/fader", 0.5), console.address)
            sock.sendto(encode_message("/lr/mix/fader"), console.address)
            address, args = decode_message(sock.recv(1024))
            assert address == "/lr/mix/fader"
            assert args[0] == pytest.approx(quantize(0.5), abs=1e-7)  # sent as float32
            assert console.main_fader == quantize(0.5)
            sock.sendto(encode_message("/ch/17/mix/fader"), console.address)  # no channel 17
            sock.sendto(encode_message("/main/st/mix/fader"), console.address)  # an X32 address
            with pytest.raises(TimeoutError):
                sock.settimeout(0.2)
                sock.recv(1024)
        finally:
            sock.close()
