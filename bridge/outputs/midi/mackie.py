"""Pure Mackie Control (MCU) codec: fader, touch and bank messages as bytes, and what comes back.

Facts from REAPER's csurf_mcu.cpp (reaper-sdk) and PROTOCOLS.md: fader k (0-7, 8 = master) is a
pitch bend on MIDI channel k, 14-bit 0..16383, LSB first; touch is note 0x68+k (0x70 master),
velocity 0x7F touched / 0x00 released; bank buttons are notes 0x2E/0x2F (-8/+8 strips) and
0x30/0x31 (-1/+1), pressed (0x7F) and released (0x00); the host shows its bank offset + 1 as two
ASCII digits on the assignment display, CC 0x4B (tens) and 0x4A (units) on channel 1.
"""

from __future__ import annotations

from dataclasses import dataclass

STRIPS = 8
"""Channel strips per Mackie Control unit (one bank)."""
MASTER = 8
"""Strip index of the master fader."""
MAX_VALUE = 16383
TOUCH_NOTE = 0x68
MASTER_TOUCH_NOTE = 0x70
BANK_DOWN, BANK_UP, CHANNEL_DOWN, CHANNEL_UP = 0x2E, 0x2F, 0x30, 0x31
ASSIGN_UNITS_CC, ASSIGN_TENS_CC = 0x4A, 0x4B
PRESSED, RELEASED = 0x7F, 0x00


def _check_strip(strip: int) -> None:
    if not 0 <= strip <= MASTER:
        raise ValueError(f"Mackie strip must be 0..{MASTER} (8 = master), got {strip}")


def fader(strip: int, value: int) -> bytes:
    """Pitch bend Ek ll mm: move fader `strip` to `value` (0..16383)."""
    _check_strip(strip)
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"Mackie fader value must be 0..{MAX_VALUE}, got {value}")
    return bytes((0xE0 | strip, value & 0x7F, value >> 7))


def touch(strip: int, touched: bool) -> bytes:
    """Note on 90 (68+k) 7F/00: a finger on (or off) fader `strip`."""
    _check_strip(strip)
    note = MASTER_TOUCH_NOTE if strip == MASTER else TOUCH_NOTE + strip
    return bytes((0x90, note, PRESSED if touched else RELEASED))


def button(note: int) -> bytes:
    """A button press and its release (6 bytes)."""
    return bytes((0x90, note, PRESSED, 0x90, note, RELEASED))


def bank_moves(offset: int, target: int) -> bytes:
    """Button presses that take the host's bank offset from `offset` to `target` strips:
    +-8 with the bank buttons, the rest with the channel buttons."""
    out = b""
    delta = target - offset
    while abs(delta) >= STRIPS:
        out += button(BANK_UP if delta > 0 else BANK_DOWN)
        delta -= STRIPS if delta > 0 else -STRIPS
    while delta:
        out += button(CHANNEL_UP if delta > 0 else CHANNEL_DOWN)
        delta -= 1 if delta > 0 else -1
    return out


@dataclass(frozen=True)
class FaderMoved:
    strip: int
    value: int


@dataclass(frozen=True)
class Touched:
    strip: int
    touched: bool


@dataclass(frozen=True)
class AssignmentDigit:
    """One character of the two-digit assignment display (the host's bank offset + 1)."""

    tens: bool
    digit: int


Event = FaderMoved | Touched | AssignmentDigit


def decode(data: bytes) -> Event | None:
    """The MCU meaning of one 3-byte MIDI message, or None for anything we do not use."""
    if len(data) != 3:
        return None
    status, a, b = data
    kind, channel = status & 0xF0, status & 0x0F
    if kind == 0xE0 and channel <= MASTER:
        return FaderMoved(channel, a | (b << 7))
    if kind in (0x90, 0x80) and (TOUCH_NOTE <= a <= TOUCH_NOTE + 7 or a == MASTER_TOUCH_NOTE):
        strip = MASTER if a == MASTER_TOUCH_NOTE else a - TOUCH_NOTE
        return Touched(strip, kind == 0x90 and b >= 0x40)
    if status == 0xB0 and a in (ASSIGN_UNITS_CC, ASSIGN_TENS_CC) and 0x30 <= (b & 0x3F) <= 0x39:
        return AssignmentDigit(a == ASSIGN_TENS_CC, (b & 0x3F) - 0x30)
    return None
