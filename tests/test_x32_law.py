"""X32 fader law, quantisation, addresses and OSC bytes, against PROTOCOLS.md and the OSC spec."""

from __future__ import annotations

import itertools
import math
import struct

import numpy as np
import pytest

from bridge.outputs.osc import decode_message, encode_message
from bridge.outputs.x32.codec import (
    channel_fader_address,
    channel_name_address,
    channel_on_address,
    parse_channel_address,
)
from bridge.outputs.x32.law import (
    db_to_fader,
    db_to_fader_array,
    fader_step,
    fader_to_db,
    fader_to_db_array,
    quantize,
    step_to_fader,
)

BREAKPOINTS = [(0.0625, -60.0), (0.25, -30.0), (0.5, -10.0), (0.75, 0.0), (1.0, 10.0)]


@pytest.mark.parametrize(("f", "db"), BREAKPOINTS)
def test_breakpoints(f: float, db: float) -> None:
    assert fader_to_db(f) == pytest.approx(db, abs=1e-12)
    assert db_to_fader(db) == pytest.approx(f, abs=1e-12)


@pytest.mark.parametrize(
    ("f", "db"),
    # Mid-segment points: one per linear piece of the law.
    [(0.03125, -75.0), (0.125, -50.0), (0.375, -20.0), (0.625, -5.0), (0.875, 5.0)],
)
def test_each_segment_is_linear(f: float, db: float) -> None:
    assert fader_to_db(f) == pytest.approx(db, abs=1e-12)
    assert db_to_fader(db) == pytest.approx(f, abs=1e-12)


def test_ends_and_clamping() -> None:
    assert fader_to_db(0.0) == -math.inf
    assert fader_to_db(-0.5) == -math.inf
    assert fader_to_db(1.5) == 10.0
    assert db_to_fader(-math.inf) == 0.0
    assert db_to_fader(-90.0) == 0.0
    assert db_to_fader(-120.0) == 0.0
    assert db_to_fader(10.0) == 1.0
    assert db_to_fader(40.0) == 1.0
    assert db_to_fader(math.inf) == 1.0
    with pytest.raises(ValueError):
        db_to_fader(math.nan)
    with pytest.raises(ValueError):
        fader_to_db(math.nan)


def test_law_is_continuous_and_increasing() -> None:
    for f, _ in BREAKPOINTS[:-1]:
        assert fader_to_db(f - 1e-9) == pytest.approx(fader_to_db(f), abs=1e-5)
    dbs = [fader_to_db(step_to_fader(k)) for k in range(1, 1024)]
    assert all(b > a for a, b in itertools.pairwise(dbs))


def test_round_trips() -> None:
    for k in range(1, 1024):
        f = step_to_fader(k)
        assert db_to_fader(fader_to_db(f)) == pytest.approx(f, abs=1e-12)
    for db in np.arange(-89.5, 10.0, 0.25):
        assert fader_to_db(db_to_fader(float(db))) == pytest.approx(db, abs=1e-9)


def test_quantisation_to_1024_steps() -> None:
    assert fader_step(0.0) == 0
    assert fader_step(1.0) == 1023
    assert fader_step(0.75) == 767  # 767.25
    assert quantize(0.75) == 767 / 1023
    assert fader_step(2.0) == 1023
    assert fader_step(-1.0) == 0
    for f in np.linspace(0.0, 1.0, 5001):
        q = quantize(float(f))
        assert abs(q - f) <= 0.5 / 1023 + 1e-15
        assert q * 1023 == pytest.approx(round(q * 1023), abs=1e-9)
        assert quantize(q) == q  # the console's values are fixed points
    assert len({quantize(float(f)) for f in np.linspace(0.0, 1.0, 20001)}) == 1024
    with pytest.raises(ValueError):
        step_to_fader(1024)


def test_vectorised_matches_scalar() -> None:
    fs = np.linspace(0.0, 1.0, 1024)
    assert np.array_equal(fader_to_db_array(fs), [fader_to_db(float(f)) for f in fs])
    dbs = np.concatenate([[-np.inf, -200.0, -90.0], np.linspace(-89.9, 10.0, 997), [12.0]])
    assert np.allclose(db_to_fader_array(dbs), [db_to_fader(float(d)) for d in dbs], atol=1e-15)
    assert np.isnan(db_to_fader_array(np.array([np.nan, 0.0]))[0])


def test_addresses() -> None:
    assert channel_fader_address(1) == "/ch/01/mix/fader"
    assert channel_fader_address(32) == "/ch/32/mix/fader"
    assert channel_name_address(7) == "/ch/07/config/name"
    assert channel_on_address(12) == "/ch/12/mix/on"
    for bad in (0, 33, -1):
        for fn in (channel_fader_address, channel_name_address, channel_on_address):
            with pytest.raises(ValueError, match=r"1\.\.32"):
                fn(bad)
    assert parse_channel_address("/ch/05/mix/fader") == (5, "fader")
    assert parse_channel_address("/ch/32/config/name") == (32, "name")
    assert parse_channel_address("/ch/01/mix/on") == (1, "on")
    for other in ("/ch/33/mix/fader", "/ch/00/mix/fader", "/ch/1/mix/fader", "/dca/1/fader"):
        assert parse_channel_address(other) is None


# Written out by hand from the OSC 1.0 spec: strings are NUL-terminated and padded to a multiple
# of 4 bytes, the type tag string starts with ',', arguments are big-endian.
FADER_SET_0_75 = (
    b"/ch/01/mix/fader"  # 16 bytes
    b"\x00\x00\x00\x00"  # terminator + padding to 20
    b",f\x00\x00"  # type tags, padded to 4
    b"\x3f\x40\x00\x00"  # 0.75 as IEEE 754 big-endian float32
)
FADER_QUERY = b"/ch/01/mix/fader\x00\x00\x00\x00,\x00\x00\x00"
NAME_SET_KICK = b"/ch/01/config/name\x00\x00,s\x00\x00Kick\x00\x00\x00\x00"
ON_SET_1 = b"/ch/01/mix/on\x00\x00\x00,i\x00\x00\x00\x00\x00\x01"


def test_osc_byte_fixtures() -> None:
    assert struct.pack(">f", 0.75) == b"\x3f\x40\x00\x00"
    assert encode_message("/ch/01/mix/fader", 0.75) == FADER_SET_0_75
    assert encode_message("/ch/01/mix/fader") == FADER_QUERY
    assert encode_message("/ch/01/config/name", "Kick") == NAME_SET_KICK
    assert encode_message("/ch/01/mix/on", 1) == ON_SET_1
    assert decode_message(FADER_SET_0_75) == ("/ch/01/mix/fader", [0.75])
    assert decode_message(FADER_QUERY) == ("/ch/01/mix/fader", [])
    assert decode_message(NAME_SET_KICK) == ("/ch/01/config/name", ["Kick"])
    assert decode_message(ON_SET_1) == ("/ch/01/mix/on", [1])
    assert decode_message(b"/xinfo\x00\x00") == ("/xinfo", [])  # no type tag at all


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"\xff\xfe\x00\x00",
        b"/ch/01/mix/fader",  # no terminator
        b"#bundle\x00",
        FADER_SET_0_75[:-2],  # float cut short
        FADER_SET_0_75[:-4],  # tag says float, no float follows
        FADER_SET_0_75 + b"\x00\x00\x00\x00",  # trailing bytes
    ],
)
def test_decode_rejects_malformed(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_message(data)


def test_encode_rejects_bool() -> None:
    with pytest.raises(TypeError):
        encode_message("/ch/01/mix/on", True)
