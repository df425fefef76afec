"""OSC message bytes shared by the X32 and REAPER outputs: encode, and a strict decode.

Pure functions: value -> bytes, bytes -> value, testable against byte fixtures.
"""

from __future__ import annotations

import struct

from pythonosc.osc_message import OscMessage, ParseError
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

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
