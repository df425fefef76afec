"""Pure X32 helpers: fader law (float <-> dB), 1024-step quantisation, addresses, OSC bytes.

No sockets or threads here; everything is testable against the protocol facts and byte fixtures.
"""

from __future__ import annotations

import math
import re
import struct

import numpy as np
from pythonosc.osc_message import OscMessage, ParseError
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

FADER_STEPS = 1024
"""The console stores a fader as one of 1024 positions: round(f * 1023) / 1023."""

MAX_STEP = FADER_STEPS - 1
MIN_DB = -90.0
"""At or below this level the fader is at the bottom (f = 0, shown as -inf)."""
MAX_DB = 10.0
"""Fader at the top (f = 1.0)."""
NAME_MAX_CHARS = 12
CHANNEL_COUNT = 32

# (lowest f of the segment, dB per unit f, dB at f = 0 of the line), top segment first.
_SEGMENTS: tuple[tuple[float, float, float], ...] = (
    (0.5, 40.0, -30.0),
    (0.25, 80.0, -50.0),
    (0.0625, 160.0, -70.0),
    (0.0, 480.0, -90.0),
)


# --- fader law ---------------------------------------------------------------------------------


def fader_to_db(f: float) -> float:
    """dB for a fader float; f is clamped to 0..1 and f = 0 gives -inf."""
    if math.isnan(f):
        raise ValueError("fader value is NaN")
    f = min(max(f, 0.0), 1.0)
    if f == 0.0:
        return -math.inf
    for lowest, slope, offset in _SEGMENTS:
        if f >= lowest:
            return slope * f + offset
    raise AssertionError("unreachable: the last segment starts at 0")


def db_to_fader(db: float) -> float:
    """Fader float 0..1 for a level in dB: <= -90 dB (or -inf) gives 0.0, >= +10 dB gives 1.0."""
    if math.isnan(db):
        raise ValueError("level is NaN")
    if db <= MIN_DB:
        return 0.0
    if db >= MAX_DB:
        return 1.0
    for lowest, slope, offset in _SEGMENTS:
        if db >= slope * lowest + offset:
            return (db - offset) / slope
    raise AssertionError("unreachable: the last segment starts at -90 dB")


def fader_to_db_array(f: np.ndarray) -> np.ndarray:
    """Vectorised `fader_to_db` (float64 result, -inf where f <= 0)."""
    f = np.clip(np.asarray(f, dtype=np.float64), 0.0, 1.0)
    conditions = [f >= lowest for lowest, _, _ in _SEGMENTS]
    values = [slope * f + offset for _, slope, offset in _SEGMENTS]
    out = np.select(conditions, values)
    return np.where(f <= 0.0, -np.inf, out)


def db_to_fader_array(db: np.ndarray) -> np.ndarray:
    """Vectorised `db_to_fader` (NaN stays NaN; callers decide what a missing level means)."""
    db = np.asarray(db, dtype=np.float64)
    conditions = [db >= slope * lowest + offset for lowest, slope, offset in _SEGMENTS]
    with np.errstate(invalid="ignore"):
        values = [(db - offset) / slope for _, slope, offset in _SEGMENTS]
        out = np.select(conditions, values, default=0.0)
    out = np.clip(out, 0.0, 1.0)
    return np.where(np.isnan(db), np.nan, out)


def fader_step(f: float) -> int:
    """The console's step index 0..1023 for a fader float (clamped to 0..1)."""
    return round(min(max(f, 0.0), 1.0) * MAX_STEP)


def step_to_fader(step: int) -> float:
    """Fader float for a step index 0..1023."""
    if not 0 <= step <= MAX_STEP:
        raise ValueError(f"fader step must be 0..{MAX_STEP}, got {step}")
    return step / MAX_STEP


def quantize(f: float) -> float:
    """The value the console actually stores for a fader float."""
    return fader_step(f) / MAX_STEP


# --- addresses ---------------------------------------------------------------------------------


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


# --- OSC bytes ---------------------------------------------------------------------------------

OscArg = float | int | str


def encode_message(address: str, *args: OscArg) -> bytes:
    """OSC bytes for a message; Python float -> ',f', int -> ',i', str -> ',s'.

    With no args the type tag is a bare ',' (a query on the X32).
    """
    builder = OscMessageBuilder(address=address)
    for arg in args:
        if isinstance(arg, bool):
            raise TypeError("bool is not an X32 argument type; use 0 or 1")
        if isinstance(arg, float):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_FLOAT)
        elif isinstance(arg, int):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(arg, str):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_STRING)
        else:
            raise TypeError(f"unsupported OSC argument {arg!r}")
    return builder.build().dgram


def decode_message(data: bytes) -> tuple[str, list[object]]:
    """(address, args) from OSC bytes; ValueError for anything that is not a valid message."""
    if not OscMessage.dgram_is_message(data):
        raise ValueError("not an OSC message (bundles are not used by the X32)")
    try:
        message = OscMessage(data)
    except (ParseError, osc_types.ParseError, IndexError, struct.error, TypeError) as exc:
        raise ValueError(f"malformed OSC message: {exc}") from exc
    except ValueError as exc:  # UnicodeDecodeError and friends: say what failed
        raise ValueError(f"malformed OSC message: {exc}") from exc
    params = message.params
    if len(data) % 4:
        raise ValueError(f"OSC packet length {len(data)} is not a multiple of 4")
    # pythonosc pads short floats (a Reaktor quirk); a truncated fader set must not read as 0.
    simple = params and all(type(p) in (float, int, str) for p in params)
    if simple and encode_message(message.address, *params) != data:
        raise ValueError("OSC message has missing or trailing bytes")
    return message.address, params
