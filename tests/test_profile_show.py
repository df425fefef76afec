"""`ailive profiles show` prints every setting that applies to the profile's output kind (a new
Profile field shows up by itself), the file's set-up notes, and every channel-map column in use."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bridge.cli import main
from bridge.profile_show import _ONLY_FOR, channel_columns, settings
from bridge.profiles import OUTPUT_KINDS, Profile, discover


def show(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["profiles", "show", name]) == 0
    return capsys.readouterr().out


def test_reaper_shows_its_listen_port_bank_and_set_up_notes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = show("reaper-8", capsys)
    assert "listen_port      9000" in out and "bank_size        8" in out
    assert "automation_mode" in out and "port             8000" in out
    assert "Preferences > Control/OSC/web" in out and "device port 9000" in out
    assert "midi_port" not in out and "cc_bits" not in out


def test_midi_profiles_show_port_transport_law_and_cc_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = show("generic-cc", capsys)
    for key in ("midi_port", "midi_transport", "midi_virtual", "cc_bits", "cc_number", "law"):
        assert f"  {key} " in out, key
    assert "linear in dB, -60 .. +6 dB" in out
    assert "midi_channel" in out.splitlines()[-9] and " cc" in out.splitlines()[-9]
    mackie = show("mackie", capsys)
    assert "AiLive MCU" in mackie and "select it as a Mackie Control surface" in mackie
    assert "host" not in mackie.split("set-up notes")[0].split("output: mackie")[1]


def test_every_field_of_every_shipped_profile_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = discover()
    assert not bad
    seen_kinds = set()
    for profile in good:
        out = show(str(profile.path), capsys)
        seen_kinds.add(profile.output)
        for key, value in settings(profile):
            assert f"  {key}" in out and value in out, (profile.name, key)
        header = next(ln for ln in out.splitlines() if ln.strip().startswith("capture"))
        assert header.split() == channel_columns(profile)
    assert seen_kinds == set(OUTPUT_KINDS)


def test_a_kind_specific_setting_names_real_fields_and_kinds() -> None:
    names = {f.name for f in fields(Profile)}
    for key, kinds in _ONLY_FOR.items():
        assert key in names and set(kinds) <= set(OUTPUT_KINDS)
