"""Console mapping profiles (`mappings/*.toml`): data, validated on load with errors that say
which file, which field and what is allowed. One bad profile never stops the others."""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.channels import parse_channels
from bridge.config import MAPPINGS_DIR, SAFETY, USER_MAPPINGS_DIR, X32_PORT, XAIR_PORT
from bridge.engine import FALLBACKS, DeadlinePolicy
from bridge.outputs.midi.law import FaderLaw, LawError, LinearDbLaw, make_law
from models.activity import GateSettings

OUTPUT_KINDS = ("x32", "xair", "reaper", "mackie", "cc")
"""x32: X32/M32 OSC; xair: X-Air/MR OSC; reaper: REAPER OSC; mackie: Mackie Control; cc: MIDI CC."""

DEFAULT_PORTS = {"x32": X32_PORT, "xair": XAIR_PORT, "reaper": 8000}
MAX_STRIP = {"x32": 32, "xair": 16}
"""Console channels per family (the other outputs address up to 64 tracks/strips)."""
AUTOMATION_MODES = ("", "trim", "read", "touch", "latch", "write")
MIDI_TRANSPORTS = ("rtmidi", "jack", "tcp")
MODES = ("absolute", "relative", "listen")
"""absolute: the model sets each level; relative: it rides +-range_db around the engineer's
snapshot; listen: it runs and shows its proposals, and no fader is set."""
RESYNC_POLICIES = ("hold", "adopt")
"""A fader that changed while the link was down: a person's (held) or the model's new base."""
DEFAULT_LAWS: dict[str, FaderLaw] = {
    "mackie": LinearDbLaw(-60.0, 12.0),
    "cc": LinearDbLaw(-60.0, 6.0),
}
"""Used when a MIDI profile has no [law]; hosts differ, so state yours in the profile."""
MAX_BYTES = 1 << 20
"""A profile is a small text file: anything bigger is refused unread."""
MAX_DEPTH = 8
"""Tables and arrays nested deeper than this are refused (a profile needs 3)."""

log = logging.getLogger(__name__)


class ProfileError(ValueError):
    """A profile that cannot be used: `str()` names the file, the field and what is allowed."""

    def __init__(self, path: Path | str, fld: str, message: str) -> None:
        super().__init__(f"{path}: {fld}: {message}")
        self.path = Path(path)
        self.field = fld


@dataclass
class ChannelMap:
    """One capture channel and where its gain goes."""

    capture: int
    """Capture channel, 1-based (the console's USB send)."""
    strip: int
    """Console channel / DAW track / surface strip, 1-based."""
    name: str = ""
    floor_db: float = SAFETY.floor_db
    ceiling_db: float = SAFETY.ceiling_db
    offset_db: float = 0.0
    protected: bool = False
    """Never touched by the model (talkback, playback)."""
    range_db: float = 6.0
    """Relative mode: the model moves this fader at most this many dB from its snapshot."""
    gate: bool = True
    """The activity gate: hold this fader while the channel carries only bleed (models.activity);
    false for a channel that is always quiet on purpose (an ambience mic)."""
    midi_channel: int = 0
    """Generic CC: MIDI channel 1..16 (default: the strip number)."""
    cc: int = -1
    """Generic CC: controller number (default: the profile's cc_number)."""


@dataclass
class Profile:
    name: str
    output: str
    """One of OUTPUT_KINDS."""
    path: Path
    host: str = "127.0.0.1"
    port: int = 0
    midi_port: str = ""
    description: str = ""
    max_rate_hz: float = 20.0
    """At most this many sets per fader per second."""
    channels: list[ChannelMap] = field(default_factory=list)
    listen_port: int = 9000
    """REAPER: UDP port we receive REAPER's feedback on (REAPER's 'device port')."""
    bank_size: int = 8
    """REAPER: tracks per bank (DEVICE_TRACK_COUNT, sent to REAPER at connect); Mackie: 8."""
    automation_mode: str = ""
    """REAPER: set driven tracks to trim/read/touch/latch/write at connect ('' = leave)."""
    midi_transport: str = "rtmidi"
    """rtmidi (the system's MIDI), jack (rtmidi over JACK MIDI) or tcp (mido socket, host:port)."""
    midi_virtual: bool = True
    """Open a virtual port named midi_port; false: connect to an existing port by name."""
    cc_bits: int = 7
    """Generic CC: 7 (one controller) or 14 (MSB on cc, LSB on cc + 32)."""
    cc_number: int = 7
    """Generic CC: default controller number (7 = channel volume)."""
    law: FaderLaw | None = None
    """MIDI outputs: dB <-> controller value ([law] table; a default per kind)."""
    mode: str = "absolute"
    """One of MODES (`--mode` overrides)."""
    on_resync: str = "hold"
    """One of RESYNC_POLICIES: a fader changed while the link was down is held as a person's
    (the safe default) or adopted as the model's new base."""
    deadline: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    """[deadline]: when sustained deadline misses switch to the auto-fader or freeze."""
    activity: GateSettings = field(default_factory=GateSettings)
    """[activity]: the levels at which a channel counts as carrying only bleed (held)."""


_TOP_KEYS = {
    "name",
    "description",
    "output",
    "host",
    "port",
    "midi_port",
    "max_rate_hz",
    "channels",
    "defaults",
    "listen_port",
    "bank_size",
    "automation_mode",
    "midi_transport",
    "midi_virtual",
    "cc_bits",
    "cc_number",
    "law",
    "mode",
    "on_resync",
    "deadline",
    "activity",
}
_CH_KEYS = {
    "capture",
    "strip",
    "name",
    "floor_db",
    "ceiling_db",
    "offset_db",
    "protected",
    "range_db",
    "gate",
    "midi_channel",
    "cc",
}


def _num(path: Path, fld: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(path, fld, f"must be a number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ProfileError(path, fld, f"must be from {lo} to {hi}, got {value}")
    return float(value)


def _int(path: Path, fld: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(path, fld, f"must be a whole number from {lo} to {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ProfileError(path, fld, f"must be from {lo} to {hi}, got {value}")
    return value


def _choice(path: Path, fld: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ProfileError(path, fld, f"must be one of {list(allowed)}, got {value!r}")
    return str(value)


def parse_profile(data: dict[str, Any], path: Path) -> Profile:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(path, sorted(unknown)[0], f"unknown field; allowed: {sorted(_TOP_KEYS)}")
    output = data.get("output")
    if output not in OUTPUT_KINDS:
        raise ProfileError(path, "output", f"must be one of {list(OUTPUT_KINDS)}, got {output!r}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ProfileError(path, "name", "must be a non-empty string")
    port = _int(path, "port", data.get("port", DEFAULT_PORTS.get(output, 0)), 0, 65535)
    prof = Profile(
        name=name,
        output=output,
        path=path,
        host=str(data.get("host", "127.0.0.1")),
        port=port,
        midi_port=str(data.get("midi_port", "")),
        description=str(data.get("description", "")),
        max_rate_hz=_num(path, "max_rate_hz", data.get("max_rate_hz", 20.0), 0.1, 100.0),
    )
    _parse_output_fields(data, path, prof)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ProfileError(path, "defaults", "must be a table of per-channel defaults")
    raw_channels = data.get("channels")
    if isinstance(raw_channels, str):
        # Shorthand: channels = "1-32" maps capture N to strip N.
        try:
            raw_channels = [{"capture": c + 1} for c in parse_channels(raw_channels)]
        except ValueError as exc:
            raise ProfileError(path, "channels", str(exc)) from None
    if not isinstance(raw_channels, list) or not raw_channels:
        raise ProfileError(
            path, "channels", 'must be a range such as "1-32" or a list of [[channels]] tables'
        )
    seen_capture: set[int] = set()
    seen_strip: set[int] = set()
    for i, raw in enumerate(raw_channels):
        where = f"channels[{i}]"
        if not isinstance(raw, dict):
            raise ProfileError(path, where, "must be a table")
        merged = {**defaults, **raw}
        unknown = set(merged) - _CH_KEYS
        if unknown:
            raise ProfileError(
                path, f"{where}.{sorted(unknown)[0]}", f"unknown field; allowed: {sorted(_CH_KEYS)}"
            )
        if "capture" not in merged:
            raise ProfileError(path, f"{where}.capture", "missing (1-based capture channel)")
        cap = _int(path, f"{where}.capture", merged["capture"], 1, 64)
        strip = _int(path, f"{where}.strip", merged.get("strip", cap), 1, MAX_STRIP.get(output, 64))
        if cap in seen_capture:
            raise ProfileError(path, f"{where}.capture", f"capture channel {cap} mapped twice")
        if strip in seen_strip:
            raise ProfileError(path, f"{where}.strip", f"strip {strip} mapped twice")
        seen_capture.add(cap)
        seen_strip.add(strip)
        floor = _num(path, f"{where}.floor_db", merged.get("floor_db", SAFETY.floor_db), -90, 10)
        ceil = _num(
            path, f"{where}.ceiling_db", merged.get("ceiling_db", SAFETY.ceiling_db), -90, 10
        )
        if floor > ceil:
            raise ProfileError(path, f"{where}.floor_db", f"floor {floor} is above ceiling {ceil}")
        protected = merged.get("protected", False)
        if not isinstance(protected, bool):
            raise ProfileError(path, f"{where}.protected", "must be true or false")
        gate = merged.get("gate", True)
        if not isinstance(gate, bool):
            raise ProfileError(path, f"{where}.gate", "must be true or false")
        prof.channels.append(
            ChannelMap(
                capture=cap,
                strip=strip,
                name=str(merged.get("name", "")),
                floor_db=floor,
                ceiling_db=ceil,
                offset_db=_num(path, f"{where}.offset_db", merged.get("offset_db", 0.0), -40, 40),
                protected=protected,
                range_db=_num(path, f"{where}.range_db", merged.get("range_db", 6.0), 0, 40),
                gate=gate,
            )
        )
        if output == "cc":
            _parse_cc_channel(merged, path, where, prof)
    return prof


def _parse_output_fields(data: dict[str, Any], path: Path, prof: Profile) -> None:
    """Fields only some outputs use (REAPER ports and banks, MIDI transport, CC, law)."""
    prof.listen_port = _int(path, "listen_port", data.get("listen_port", 9000), 0, 65535)
    prof.bank_size = _int(path, "bank_size", data.get("bank_size", 8), 1, 128)
    mode = data.get("automation_mode", "")
    if mode not in AUTOMATION_MODES:
        raise ProfileError(path, "automation_mode", f"must be one of {list(AUTOMATION_MODES)}")
    prof.automation_mode = mode
    prof.mode = _choice(path, "mode", data.get("mode", "absolute"), MODES)
    prof.on_resync = _choice(path, "on_resync", data.get("on_resync", "hold"), RESYNC_POLICIES)
    transport = data.get("midi_transport", "rtmidi")
    if transport not in MIDI_TRANSPORTS:
        raise ProfileError(path, "midi_transport", f"must be one of {list(MIDI_TRANSPORTS)}")
    prof.midi_transport = transport
    virtual = data.get("midi_virtual", True)
    if not isinstance(virtual, bool):
        raise ProfileError(path, "midi_virtual", "must be true or false")
    prof.midi_virtual = virtual
    bits = data.get("cc_bits", 7)
    if bits not in (7, 14) or isinstance(bits, bool):
        raise ProfileError(path, "cc_bits", f"must be 7 or 14, got {bits!r}")
    prof.cc_bits = bits
    prof.cc_number = _int(path, "cc_number", data.get("cc_number", 7), 0, 31 if bits == 14 else 127)
    raw_law = data.get("law")
    if raw_law is not None:
        if not isinstance(raw_law, dict):
            raise ProfileError(path, "law", "must be a [law] table")
        try:
            prof.law = make_law(raw_law)
        except LawError as exc:
            raise ProfileError(path, f"law.{exc.field}", str(exc)) from None
    else:
        prof.law = DEFAULT_LAWS.get(prof.output)
    if prof.output in ("mackie", "cc") and prof.midi_transport != "tcp" and not prof.midi_port:
        raise ProfileError(path, "midi_port", "a MIDI output needs a port name")
    if prof.output == "mackie" and prof.bank_size != 8:
        raise ProfileError(path, "bank_size", "a Mackie Control unit banks by 8 strips")
    prof.deadline = _parse_deadline(data.get("deadline", {}), path)
    prof.activity = _parse_activity(data.get("activity", {}), path)


def _parse_activity(raw: Any, path: Path) -> GateSettings:
    """[activity] relative_db (below the loudest channel) and floor_dbfs: the activity gate."""
    if not isinstance(raw, dict):
        raise ProfileError(path, "activity", "must be an [activity] table")
    unknown = set(raw) - {"relative_db", "floor_dbfs"}
    if unknown:
        raise ProfileError(
            path,
            f"activity.{sorted(unknown)[0]}",
            "unknown field; allowed: floor_dbfs, relative_db",
        )
    default = GateSettings()
    relative = _num(
        path, "activity.relative_db", raw.get("relative_db", default.relative_db), 6.0, 90.0
    )
    floor = _num(path, "activity.floor_dbfs", raw.get("floor_dbfs", default.floor_dbfs), -120, -20)
    return GateSettings(relative_db=relative, floor_dbfs=floor)


def _parse_deadline(raw: Any, path: Path) -> DeadlinePolicy:
    """[deadline] miss_percent (over window_s seconds) and fallback ("autofader" or "freeze")."""
    if not isinstance(raw, dict):
        raise ProfileError(path, "deadline", "must be a [deadline] table")
    unknown = set(raw) - {"miss_percent", "window_s", "fallback"}
    if unknown:
        raise ProfileError(
            path,
            f"deadline.{sorted(unknown)[0]}",
            "unknown field; allowed: fallback, miss_percent, window_s",
        )
    default = DeadlinePolicy()
    fallback = raw.get("fallback", default.fallback)
    if fallback not in FALLBACKS:
        raise ProfileError(path, "deadline.fallback", f"must be one of {list(FALLBACKS)}")
    percent = _num(
        path, "deadline.miss_percent", raw.get("miss_percent", default.miss_percent), 0.0, 100.0
    )
    window = _num(path, "deadline.window_s", raw.get("window_s", default.window_s), 0.5, 600.0)
    return DeadlinePolicy(window_s=window, miss_percent=percent, fallback=fallback)


def _parse_cc_channel(merged: dict[str, Any], path: Path, where: str, prof: Profile) -> None:
    """MIDI channel and controller of one generic-CC channel; each pair used once."""
    m = prof.channels[-1]
    if "midi_channel" not in merged and m.strip > 16:
        raise ProfileError(path, f"{where}.midi_channel", "strips above 16 need midi_channel")
    m.midi_channel = _int(path, f"{where}.midi_channel", merged.get("midi_channel", m.strip), 1, 16)
    top = 31 if prof.cc_bits == 14 else 127
    m.cc = _int(path, f"{where}.cc", merged.get("cc", prof.cc_number), 0, top)
    if any((c.midi_channel, c.cc) == (m.midi_channel, m.cc) for c in prof.channels[:-1]):
        raise ProfileError(path, f"{where}.cc", f"channel {m.midi_channel} cc {m.cc} mapped twice")


def read_profile_text(path: Path) -> str:
    """The text of a profile file: a regular file (never a FIFO or device, which could hang
    the read), at most MAX_BYTES, UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ProfileError(path, "file", f"cannot read ({exc.strerror})") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ProfileError(path, "file", "not a regular file (profiles are .toml files)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ProfileError(path, "file", f"cannot read ({exc.strerror})") from exc
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise ProfileError(path, "file", f"larger than {MAX_BYTES // 1024} KiB; not a profile")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(
            path, "file", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    text = read_profile_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, "file", f"not valid TOML ({exc})") from exc
    except RecursionError:
        raise ProfileError(path, "file", f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise ProfileError(path, "file", f"nested deeper than {MAX_DEPTH} levels")
    return parse_profile(data, path)


def profile_dirs() -> list[Path]:
    return [MAPPINGS_DIR, USER_MAPPINGS_DIR]


def discover(dirs: list[Path] | None = None) -> tuple[list[Profile], list[ProfileError]]:
    """Every profile in the shipped and user folders; bad ones are returned as errors."""
    good: list[Profile] = []
    bad: list[ProfileError] = []
    for d in dirs if dirs is not None else profile_dirs():
        try:
            if not d.is_dir():
                continue
            paths = sorted(d.glob("*.toml"))
        except OSError as exc:
            bad.append(ProfileError(d, "folder", f"cannot list ({exc.strerror})"))
            continue
        for path in paths:
            try:
                good.append(load_profile(path))
            except ProfileError as exc:
                bad.append(exc)
    return good, bad


def _keys(prof: Profile) -> set[str]:
    return {prof.name, prof.path.stem}


def shadowed(good: list[Profile]) -> dict[Path, Profile]:
    """Profiles hidden by one of the same name (or file name) in a later folder (the user's
    folder comes after the shipped one): hidden profile's path -> the profile used instead."""
    hidden: dict[Path, Profile] = {}
    for i, prof in enumerate(good):
        for later in good[i + 1 :]:
            if later.path.parent != prof.path.parent and _keys(prof) & _keys(later):
                hidden[prof.path] = later
    return hidden


def find_profile(spec: str, dirs: list[Path] | None = None) -> Profile:
    """A profile by file path or by name/stem among the discovered ones; a user profile of the
    same name wins over a shipped one. Unreadable profiles never hide the others."""
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        return load_profile(path)
    good, bad = discover(dirs)
    broken = [err for err in bad if err.path.stem == spec]
    if broken:  # the profile asked for is damaged: never silently use another of its name
        raise broken[-1]
    matches = [prof for prof in good if spec in _keys(prof)]
    if matches:
        return matches[-1]
    names = ", ".join(sorted({p.path.stem for p in good})) or "none"
    unreadable = f"; {len(bad)} could not be read (see `ailive profiles list`)" if bad else ""
    raise ProfileError(Path(spec), "name", f"no such profile; available: {names}{unreadable}")
