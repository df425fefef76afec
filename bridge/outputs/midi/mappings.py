"""How a MIDI surface addresses faders: Mackie Control (host tracks banked by 8 on one unit) or
generic CC (a channel/controller pair per fader), and what incoming messages mean for which track.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.outputs.midi import mackie
from bridge.outputs.midi.cc import MAX_7, MAX_14, CcDecoder, cc7, cc14


def _split(data: bytes) -> list[bytes]:
    return [data[i : i + 3] for i in range(0, len(data), 3)]


@dataclass
class Incoming:
    """What the other side reported: a value or a touch, for the track in view on a strip."""

    track: int | None
    """The track the value belongs to (in view now), or None if we do not drive it."""
    value: int | None = None
    touched: bool | None = None
    shared: tuple[int, ...] = ()
    """Other driven tracks on the same physical strip (their echoes may still arrive)."""
    settling: bool = False
    """True right after a bank switch: the value may still show the bank before."""


class MackieMapping:
    """Absolute host tracks (1-based) on one Mackie Control unit, banking by 8 as needed."""

    max_value = mackie.MAX_VALUE
    tolerance = 2
    """Host round trips (value -> volume -> value) may differ by a count or two."""
    first_report_is_read = True
    """A host shows each track's position when it comes into view: not a move."""

    def __init__(self, tracks: Sequence[int], settle_s: float = 0.15) -> None:
        self.tracks = list(tracks)
        self.offset = 0
        self.settle_s = settle_s
        self.switched_at = -math.inf
        self._digits: list[int] = [0, 0]

    def open_messages(self) -> list[bytes]:
        """Bank all the way down: the host stops at offset 0, whatever it showed before."""
        presses = (max(self.tracks) - 1) // mackie.STRIPS + 1
        self.offset, self.switched_at = 0, time.monotonic()
        return _split(mackie.button(mackie.BANK_DOWN) * presses)

    def plan(self, moves: list[tuple[int, int]], touches: list[tuple[int, bool]]) -> list[bytes]:
        """Touch-on, fader and touch-off messages grouped by bank, switching banks between."""
        per_bank: dict[int, list[bytes]] = {}
        for track, on in touches:
            bank, strip = self._where(track)
            if on:
                per_bank.setdefault(bank, []).append(mackie.touch(strip, True))
        for track, value in moves:
            bank, strip = self._where(track)
            per_bank.setdefault(bank, []).append(mackie.fader(strip, value))
        for track, on in touches:
            bank, strip = self._where(track)
            if not on:
                per_bank.setdefault(bank, []).append(mackie.touch(strip, False))
        out: list[bytes] = []
        for bank in sorted(per_bank, key=lambda b: (b != self.offset, b)):
            if bank != self.offset:
                out += _split(mackie.bank_moves(self.offset, bank))
                self.offset, self.switched_at = bank, time.monotonic()
            out += per_bank[bank]
        return out

    def decode(self, data: bytes, now: float) -> Incoming | None:
        event = mackie.decode(data)
        if isinstance(event, mackie.AssignmentDigit):
            self._digits[0 if event.tens else 1] = event.digit
            if not event.tens and now - self.switched_at > self.settle_s:
                # Units come last: the host's offset (mod 100) corrects ours, e.g. when it
                # refused to bank past its last track. Not while our own switch is in flight.
                delta = (self._digits[0] * 10 + self._digits[1] - 1 - self.offset) % 100
                self.offset += delta - 100 if delta > 50 else delta
            return None
        if event is None or event.strip == mackie.MASTER:
            return None
        track = self.offset + event.strip + 1
        shared = tuple(
            t for t in self.tracks if (t - 1) % mackie.STRIPS == event.strip and t != track
        )
        incoming = Incoming(
            track if track in self.tracks else None,
            shared=shared,
            settling=now - self.switched_at < self.settle_s,
        )
        if isinstance(event, mackie.FaderMoved):
            incoming.value = event.value
        else:
            incoming.touched = event.touched
        return incoming

    def _where(self, track: int) -> tuple[int, int]:
        """(bank offset in strips, strip 0..7) that shows `track`."""
        return (track - 1) // mackie.STRIPS * mackie.STRIPS, (track - 1) % mackie.STRIPS


class CcMapping:
    """Tracks as (MIDI channel 1..16, controller) pairs, 7-bit or 14-bit; no touch, no banks."""

    def __init__(self, addresses: Sequence[tuple[int, int]], bits: int = 7) -> None:
        if bits not in (7, 14):
            raise ValueError(f"CC resolution must be 7 or 14 bits, got {bits}")
        self.bits = bits
        self.max_value = MAX_7 if bits == 7 else MAX_14
        self.tolerance = 0 if bits == 7 else 2
        self.first_report_is_read = False
        """A CC controller reports only moves (or echoes of ours): news from it is a person."""
        self.tracks = list(range(1, len(addresses) + 1))
        self._addresses = list(addresses)
        self._by_address = {a: i + 1 for i, a in enumerate(addresses)}
        self._decoder = CcDecoder(bits)
        for channel, cc in addresses:
            (cc7 if bits == 7 else cc14)(channel, cc, 0)  # raises on a bad address

    def open_messages(self) -> list[bytes]:
        return []

    def plan(self, moves: list[tuple[int, int]], touches: list[tuple[int, bool]]) -> list[bytes]:
        encode = cc7 if self.bits == 7 else cc14
        out: list[bytes] = []
        for track, value in moves:
            channel, cc = self._addresses[track - 1]
            out += encode(channel, cc, value)
        return out

    def decode(self, data: bytes, now: float) -> Incoming | None:
        got = self._decoder.feed(data)
        if got is None:
            return None
        track = self._by_address.get(got[:2])
        return None if track is None else Incoming(track, value=got[2])


Mapping = MackieMapping | CcMapping
