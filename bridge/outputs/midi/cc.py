"""Pure generic-CC codec: a fader as one 7-bit controller, or a 14-bit pair (MSB on controller n,
LSB on n + 32, MSB sent first, as the MIDI 1.0 specification pairs controllers 0-31 with 32-63)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_7 = 127
MAX_14 = 16383


def _check(channel: int, cc: int, top_cc: int) -> None:
    if not 1 <= channel <= 16:
        raise ValueError(f"MIDI channel must be 1..16, got {channel}")
    if not 0 <= cc <= top_cc:
        raise ValueError(f"controller must be 0..{top_cc}, got {cc}")


def cc7(channel: int, cc: int, value: int) -> list[bytes]:
    """One control change: Bn cc vv (channel 1..16)."""
    _check(channel, cc, 127)
    if not 0 <= value <= MAX_7:
        raise ValueError(f"7-bit value must be 0..{MAX_7}, got {value}")
    return [bytes((0xB0 | (channel - 1), cc, value))]


def cc14(channel: int, cc: int, value: int) -> list[bytes]:
    """A 14-bit pair: Bn cc MSB, then Bn cc+32 LSB (cc 0..31)."""
    _check(channel, cc, 31)
    if not 0 <= value <= MAX_14:
        raise ValueError(f"14-bit value must be 0..{MAX_14}, got {value}")
    status = 0xB0 | (channel - 1)
    return [bytes((status, cc, value >> 7)), bytes((status, cc + 32, value & 0x7F))]


@dataclass
class CcDecoder:
    """Turns incoming control changes into (channel, cc, value) for the controllers we map.

    A 14-bit value is complete when its LSB arrives (the MSB alone would read as a jump).
    """

    bits: int
    msb: dict[tuple[int, int], int] = field(default_factory=dict)

    def feed(self, data: bytes) -> tuple[int, int, int] | None:
        if len(data) != 3 or data[0] & 0xF0 != 0xB0:
            return None
        channel, cc, value = (data[0] & 0x0F) + 1, data[1], data[2]
        if self.bits == 7:
            return channel, cc, value
        if cc < 32:
            self.msb[(channel, cc)] = value
            return None
        if cc < 64 and (channel, cc - 32) in self.msb:
            return channel, cc - 32, (self.msb[(channel, cc - 32)] << 7) | value
        return None
