"""`ailive profiles show`: every setting of a profile that applies to its output kind, its
set-up notes (the file's leading comments), and the channel map with every column in use."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from bridge.profiles import ChannelMap, Profile

_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "host": ("x32", "xair", "reaper"),
    "port": ("x32", "xair", "reaper"),
    "listen_port": ("reaper",),
    "bank_size": ("reaper", "mackie"),
    "automation_mode": ("reaper",),
    "midi_port": ("mackie", "cc"),
    "midi_transport": ("mackie", "cc"),
    "midi_virtual": ("mackie", "cc"),
    "law": ("mackie", "cc"),
    "cc_bits": ("cc",),
    "cc_number": ("cc",),
}
"""Settings that mean something for some output kinds only; every other field is shown for all
(a field added to Profile shows up here without a change)."""
_SHOWN_ELSEWHERE = {"name", "path", "description", "channels", "output"}
_CHANNEL_ONLY_FOR = {"midi_channel": ("cc",), "cc": ("cc",)}


def setup_notes(path: Path) -> list[str]:
    """The comment lines at the top of a profile file (its set-up instructions)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    notes = []
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        notes.append(stripped.lstrip("#").strip())
    return notes


def _value(value: Any) -> str:
    points = getattr(value, "points", None)
    if points is not None:
        return f"table law, {len(points)} points ({points[0][0]:g} .. {points[-1][0]:g} dB)"
    if (
        hasattr(value, "floor_db")
        and hasattr(value, "ceiling_db")
        and not isinstance(value, Profile)
    ):
        return f"linear in dB, {value.floor_db:g} .. {value.ceiling_db:+g} dB"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value == "":
        return '""'
    if value is None:
        return "(default)"
    return str(value)


def settings(profile: Profile) -> list[tuple[str, str]]:
    """(field, value) for every profile setting that applies to its output kind."""
    out = []
    for f in fields(profile):
        if f.name in _SHOWN_ELSEWHERE:
            continue
        kinds = _ONLY_FOR.get(f.name)
        if kinds is not None and profile.output not in kinds:
            continue
        out.append((f.name, _value(getattr(profile, f.name))))
    return out


def channel_columns(profile: Profile) -> list[str]:
    return [
        f.name
        for f in fields(ChannelMap)
        if profile.output in _CHANNEL_ONLY_FOR.get(f.name, (profile.output,))
    ]


def describe(profile: Profile) -> str:
    """The whole profile as `ailive profiles show` prints it."""
    lines = [f"{profile.name}  ({profile.path})"]
    if profile.description:
        lines.append(f"  {profile.description}")
    lines.append(f"  output: {profile.output}")
    width = max((len(k) for k, _ in settings(profile)), default=0)
    lines += [f"  {key:<{width}}  {value}" for key, value in settings(profile)]
    notes = setup_notes(profile.path)
    if notes:
        lines.append("  set-up notes (from the file):")
        lines += [f"    {note}" if note else "" for note in notes]
    cols = channel_columns(profile)
    rows = [[_value(getattr(c, col)) or "-" for col in cols] for c in profile.channels]
    rows = [[v if v != '""' else "-" for v in r] for r in rows]
    widths = [max([len(col), *(len(r[i]) for r in rows)]) for i, col in enumerate(cols)]
    lines.append("  " + "  ".join(col.ljust(w) for col, w in zip(cols, widths, strict=True)))
    for r in rows:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
