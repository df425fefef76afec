"""X32 addresses: channel faders, names and mutes (the OSC bytes themselves are in outputs.osc)."""

from __future__ import annotations

import re

NAME_MAX_CHARS = 12
CHANNEL_COUNT = 32


def _check_channel(ch: int) -> None:
    if not 1 <= ch <= CHANNEL_COUNT:
        raise ValueError(f"X32 channel must be 1..{CHANNEL_COUNT}, got {ch}")


def channel_fader_address(ch: int) -> str:
    """'/ch/01/mix/fader' for channel 1 (1-based, 1..32)."""
    _check_channel(ch)
    return f"/ch/{ch:02d}/mix/fader"


def channel_name_address(ch: int) -> str:
    """'/ch/01/config/name' for channel 1."""
    _check_channel(ch)
    return f"/ch/{ch:02d}/config/name"


def channel_on_address(ch: int) -> str:
    """'/ch/01/mix/on' for channel 1 (1 = on, i.e. unmuted)."""
    _check_channel(ch)
    return f"/ch/{ch:02d}/mix/on"


_CHANNEL_RE = re.compile(r"^/ch/(\d\d)/(mix/fader|config/name|mix/on)$")
_PARAMS = {"mix/fader": "fader", "config/name": "name", "mix/on": "on"}


def parse_channel_address(address: str) -> tuple[int, str] | None:
    """(channel, 'fader' | 'name' | 'on') for a channel address we use, else None."""
    match = _CHANNEL_RE.match(address)
    if match is None:
        return None
    ch = int(match.group(1))
    if not 1 <= ch <= CHANNEL_COUNT:
        return None
    return ch, _PARAMS[match.group(2)]
