"""Pure MIDI codecs against byte fixtures written from PROTOCOLS.md and csurf_mcu.cpp: Mackie
Control faders (14-bit, LSB first, channel k), touch notes, bank buttons; generic CC (7-bit and
14-bit pairs); and the profile-defined dB laws."""

from __future__ import annotations

import math
from typing import Any

import mido
import pytest

from bridge.outputs.midi import mackie
from bridge.outputs.midi.cc import CcDecoder, cc7, cc14
from bridge.outputs.midi.law import LawError, LinearDbLaw, db_to_value, make_law, value_to_db


def test_fader_is_a_pitch_bend_on_the_strips_channel_lsb_first() -> None:
    assert mackie.fader(0, 0) == bytes.fromhex("E0 00 00")
    assert mackie.fader(0, 16383) == bytes.fromhex("E0 7F 7F")
    assert mackie.fader(3, 8192) == bytes.fromhex("E3 00 40")
    assert mackie.fader(2, 0x1234) == bytes.fromhex("E2 34 24")  # 0x1234 = 0x24 << 7 | 0x34
    assert mackie.fader(8, 1) == bytes.fromhex("E8 01 00")  # the master
    with pytest.raises(ValueError, match=r"0\.\.16383"):
        mackie.fader(0, 16384)
    with pytest.raises(ValueError, match="strip"):
        mackie.fader(9, 0)
    # mido speaks pitch -8192..8191 for the same bytes: raw = pitch + 8192.
    assert mido.Message.from_bytes(list(mackie.fader(0, 0))).pitch == -8192
    assert mido.Message.from_bytes(list(mackie.fader(5, 16383))).pitch == 8191


def test_touch_notes() -> None:
    assert mackie.touch(0, True) == bytes.fromhex("90 68 7F")
    assert mackie.touch(7, False) == bytes.fromhex("90 6F 00")
    assert mackie.touch(8, True) == bytes.fromhex("90 70 7F")


def test_bank_buttons() -> None:
    bank_up = bytes.fromhex("90 2F 7F 90 2F 00")
    assert mackie.button(mackie.BANK_UP) == bank_up
    assert mackie.bank_moves(0, 16) == bank_up * 2
    assert mackie.bank_moves(8, 0) == bytes.fromhex("90 2E 7F 90 2E 00")
    assert mackie.bank_moves(0, 10) == bank_up + bytes.fromhex("90 31 7F 90 31 00") * 2
    assert mackie.bank_moves(3, 1) == bytes.fromhex("90 30 7F 90 30 00") * 2
    assert mackie.bank_moves(5, 5) == b""


def test_decoding_what_comes_back() -> None:
    assert mackie.decode(bytes.fromhex("E5 00 40")) == mackie.FaderMoved(5, 8192)
    assert mackie.decode(bytes.fromhex("E8 7F 7F")) == mackie.FaderMoved(8, 16383)
    assert mackie.decode(bytes.fromhex("90 69 7F")) == mackie.Touched(1, True)
    assert mackie.decode(bytes.fromhex("90 69 00")) == mackie.Touched(1, False)
    assert mackie.decode(bytes.fromhex("80 70 40")) == mackie.Touched(8, False)
    assert mackie.decode(bytes.fromhex("B0 4B 30")) == mackie.AssignmentDigit(True, 0)
    assert mackie.decode(bytes.fromhex("B0 4A 79")) == mackie.AssignmentDigit(False, 9)  # dot set
    assert mackie.decode(bytes.fromhex("90 10 7F")) is None  # a mute button
    assert mackie.decode(bytes.fromhex("E9 00 00")) is None  # no fader 9
    assert mackie.decode(b"\xe0\x00") is None


def test_generic_cc_bytes() -> None:
    assert cc7(1, 7, 100) == [bytes.fromhex("B0 07 64")]
    assert cc14(2, 7, 16383) == [bytes.fromhex("B1 07 7F"), bytes.fromhex("B1 27 7F")]
    assert cc14(16, 0, 8193) == [bytes.fromhex("BF 00 40"), bytes.fromhex("BF 20 01")]
    with pytest.raises(ValueError, match=r"0\.\.31"):
        cc14(1, 32, 0)
    with pytest.raises(ValueError, match=r"1\.\.16"):
        cc7(0, 7, 0)
    decoder = CcDecoder(14)
    assert decoder.feed(bytes.fromhex("B1 07 40")) is None  # an MSB alone is not a value yet
    assert decoder.feed(bytes.fromhex("B1 27 01")) == (2, 7, 8193)
    assert decoder.feed(bytes.fromhex("B1 28 01")) is None  # LSB of a controller never seen
    assert CcDecoder(7).feed(bytes.fromhex("B0 07 64")) == (1, 7, 100)
    assert CcDecoder(7).feed(bytes.fromhex("90 07 64")) is None


def test_linear_law_and_round_trip() -> None:
    law = LinearDbLaw(-60.0, 12.0)
    assert db_to_value(law, -60.0, 16383) == 0
    assert db_to_value(law, -math.inf, 16383) == 0
    assert db_to_value(law, 12.0, 16383) == 16383
    assert db_to_value(law, 30.0, 127) == 127
    assert db_to_value(law, -24.0, 16383) == 8192  # halfway: round(0.5 * 16383)
    assert value_to_db(law, 8192, 16383) == pytest.approx(-24.0, abs=0.005)
    for db in (-40.0, -17.3, 0.0, 5.5):  # one 14-bit step is 0.0044 dB here
        assert value_to_db(law, db_to_value(law, db, 16383), 16383) == pytest.approx(db, abs=0.003)


def test_table_law_and_its_errors() -> None:
    law = make_law({"kind": "table", "points": [[0.0, -60.0], [0.5, -10.0], [1.0, 10.0]]})
    assert db_to_value(law, -10.0, 127) == 64  # round(0.5 * 127)
    assert db_to_value(law, 0.0, 16383) == round(0.75 * 16383)
    assert value_to_db(law, 16383, 16383) == 10.0
    assert value_to_db(law, 0, 127) == -60.0
    bad: list[tuple[dict[str, Any], str]] = [
        ({"kind": "log"}, "kind"),
        ({"kind": "linear_db", "floor_db": 0, "ceiling_db": -1}, "floor_db"),
        ({"kind": "linear_db", "floor_db": -math.inf}, "floor_db"),
        ({"kind": "linear_db", "slope": 1}, "slope"),
        ({"kind": "table", "points": [[0, -60]]}, "points"),
        ({"kind": "table", "points": [[0, -60], [0.5, -70]]}, "points[1]"),
        ({"kind": "table", "points": [[0, -60], [1.5, 0]]}, "points[1]"),
    ]
    for data, fld in bad:
        with pytest.raises(LawError) as info:
            make_law(data)
        assert info.value.field == fld
