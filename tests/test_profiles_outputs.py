"""Profile fields the outputs need (REAPER ports and banks, MIDI transport, CC mapping, fader
law): the shipped profiles for every output kind load, and bad values name file, field and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import MAPPINGS_DIR
from bridge.outputs.midi.law import LinearDbLaw, TableLaw
from bridge.profiles import ProfileError, discover, load_profile


def test_shipped_profiles_cover_every_output() -> None:
    good, bad = discover([MAPPINGS_DIR])
    assert not bad, [str(e) for e in bad]
    by_name = {p.name: p for p in good}
    assert {"x32", "m32", "xair18", "reaper-8", "reaper-32", "mackie", "generic-cc"} <= set(by_name)
    m32, xair = by_name["m32"], by_name["xair18"]
    assert (m32.output, m32.port, len(m32.channels)) == ("x32", 10023, 32)
    assert (xair.output, xair.port, len(xair.channels)) == ("xair", 10024, 16)
    r8, r32 = by_name["reaper-8"], by_name["reaper-32"]
    assert (r8.port, r8.listen_port, r8.bank_size, len(r8.channels)) == (8000, 9000, 8, 8)
    assert (r32.bank_size, r32.automation_mode, len(r32.channels)) == (32, "touch", 32)
    mcu = by_name["mackie"]
    assert mcu.midi_port == "AiLive MCU" and mcu.midi_virtual and mcu.bank_size == 8
    assert [c.strip for c in mcu.channels] == list(range(1, 17))  # two banks of 8
    assert mcu.law == LinearDbLaw(-60.0, 12.0)
    cc = by_name["generic-cc"]
    assert cc.cc_bits == 14 and cc.law == LinearDbLaw(-60.0, 6.0)
    assert [(c.midi_channel, c.cc) for c in cc.channels] == [(ch, 7) for ch in range(1, 9)]
    assert by_name["x32"].law is None  # the console has its own law


def test_cc_channels_and_table_law(tmp_path: Path) -> None:
    path = tmp_path / "faders.toml"
    path.write_text(
        """
output = "cc"
midi_port = "nanoKONTROL"
midi_virtual = false
[law]
kind = "table"
points = [[0.0, -70.0], [0.5, -20.0], [1.0, 6.0]]
[[channels]]
capture = 1
cc = 0
[[channels]]
capture = 2
strip = 20
midi_channel = 1
cc = 1
"""
    )
    p = load_profile(path)
    assert [(c.midi_channel, c.cc) for c in p.channels] == [(1, 0), (1, 1)]
    assert p.law == TableLaw(((0.0, -70.0), (0.5, -20.0), (1.0, 6.0)))
    assert p.midi_transport == "rtmidi" and not p.midi_virtual


MIDI = 'midi_port = "x"\n'


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        (
            'output = "reaper"\nautomation_mode = "record"\nchannels = "1-2"',
            "automation_mode",
            "one of",
        ),
        ('output = "reaper"\nbank_size = 0\nchannels = "1-2"', "bank_size", "from 1 to 128"),
        ('output = "reaper"\nlisten_port = -1\nchannels = "1-2"', "listen_port", "0 to 65535"),
        ('output = "mackie"\nmidi_transport = "usb"\nchannels = "1-2"', "midi_transport", "one of"),
        ('output = "mackie"\nchannels = "1-2"', "midi_port", "needs a port name"),
        (f'output = "mackie"\n{MIDI}bank_size = 16\nchannels = "1-2"', "bank_size", "by 8"),
        (f'output = "cc"\n{MIDI}cc_bits = 8\nchannels = "1-2"', "cc_bits", "7 or 14"),
        (
            f'output = "cc"\n{MIDI}cc_bits = 14\ncc_number = 40\nchannels = "1"',
            "cc_number",
            "0 to 31",
        ),
        (
            f'output = "cc"\n{MIDI}midi_virtual = "yes"\nchannels = "1"',
            "midi_virtual",
            "true or false",
        ),
        (f'output = "cc"\n{MIDI}channels = "17"', "channels[0].midi_channel", "need midi_channel"),
        (
            f'output = "cc"\n{MIDI}[[channels]]\ncapture = 1\ncc = 9\n[[channels]]\ncapture = 2\n'
            "midi_channel = 1\ncc = 9",
            "channels[1].cc",
            "mapped twice",
        ),
        ('output = "xair"\nchannels = "17"', "channels[0].strip", "from 1 to 16"),
        ('output = "x32"\nchannels = "33"', "channels[0].strip", "from 1 to 32"),
        (f'output = "cc"\n{MIDI}channels = "1"\n[law]\nkind = "log"', "law.kind", "one of"),
        (
            f'output = "cc"\n{MIDI}channels = "1"\n[law]\nkind = "table"\n'
            "points = [[0, 0], [0.5, -1]]",
            "law.points[1]",
            "must both increase",
        ),
        (f'output = "cc"\n{MIDI}channels = "1"\nlaw = 3', "law", "[law] table"),
    ],
)
def test_bad_output_fields_name_file_field_and_rule(
    tmp_path: Path, text: str, field: str, rule: str
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value).startswith(f"{path}: {field}: ")
    assert rule in str(info.value)
    assert info.value.field == field
