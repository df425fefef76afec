"""Writes a mapping profile back to TOML that `load_profile` reads as the same profile.

Generic over the Profile and ChannelMap fields (each field's TOML key is its name; a dataclass
value such as the fader law becomes a table), so a field added to them is written too. One
channel per line, as an inline table.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from bridge.profiles import ChannelMap, Profile, ProfileError, parse_profile

HEADER = "# Written by AiLive Mixer's profiles screen; `ailive profiles check FILE` validates it.\n"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SKIP = {"path", "channels"}
"""Profile fields that are not keys of their own: the file's location, and the channel list."""


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX ...) are all valid in a TOML basic string; DEL is not
    # allowed raw in TOML and JSON leaves it alone.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} to a profile")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Path):
        return _string(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _value(dataclasses.asdict(value))
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to a profile")


def _plain(value: Any) -> Any:
    """A field's value as TOML data: a dataclass (e.g. a fader law) becomes a table."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def channel_to_data(channel: ChannelMap, *, compact: bool = False) -> dict[str, Any]:
    """One channel as the table `parse_profile` expects; compact leaves out fields at their
    default (capture and strip are always written)."""
    out = {}
    for f in dataclasses.fields(channel):
        value = getattr(channel, f.name)
        if compact and f.name not in ("capture", "strip") and value == f.default:
            continue
        out[f.name] = _plain(value)
    return out


def profile_to_data(profile: Profile, *, compact: bool = False) -> dict[str, Any]:
    """The profile as the data `parse_profile(data, path)` turns back into an equal profile."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(profile):
        value = getattr(profile, f.name)
        if f.name in _SKIP or value is None:
            continue
        data[f.name] = _plain(value)
    data["channels"] = [channel_to_data(c, compact=compact) for c in profile.channels]
    return data


def _reads_back(text: str, profile: Profile) -> bool:
    try:
        return parse_profile(tomllib.loads(text), profile.path) == profile
    except (ProfileError, tomllib.TOMLDecodeError):
        return False


def profile_to_toml(profile: Profile) -> str:
    """The profile's TOML text: plain keys, one line per channel, then tables (e.g. [law]).

    Channel fields at their defaults are left out when the result still reads back equal (a
    default the parser fills in differently, e.g. a CC channel's MIDI channel, is written)."""
    text = _toml(profile_to_data(profile, compact=True))
    return text if _reads_back(text, profile) else _toml(profile_to_data(profile))


def _toml(data: dict[str, Any]) -> str:
    channels = data.pop("channels")
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = [HEADER.rstrip("\n")]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in data.items() if k not in tables]
    lines.append("channels = [")
    lines += [f"    {_value(c)}," for c in channels]
    lines.append("]")
    for name, table in tables.items():
        lines += ["", f"[{_key(name)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def save_profile(profile: Profile, path: Path, *, overwrite: bool = False) -> Path:
    """Write `profile` to `path` (folders made as needed). An existing file is replaced only
    with overwrite=True; otherwise FileExistsError, so nobody's profile is lost by accident."""
    text = profile_to_toml(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if overwrite else "x", encoding="utf-8") as fh:
        fh.write(text)
    return path
