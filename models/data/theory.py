"""Music theory for the arrangement generators: scales, chord symbols, voicings, nearest pitches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
PENTATONIC = (0, 2, 4, 7, 9)
MINOR_PENTATONIC = (0, 3, 5, 7, 10)
BLUES = (0, 3, 5, 6, 7, 10)
MODES: dict[str, tuple[int, ...]] = {
    "major": MAJOR,
    "minor": MINOR,
    "dorian": DORIAN,
    "mixolydian": MIXOLYDIAN,
}
SOLO_SCALES: dict[str, tuple[int, ...]] = {
    "major": PENTATONIC,
    "minor": MINOR_PENTATONIC,
    "dorian": MINOR_PENTATONIC,
    "mixolydian": BLUES,
}
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
ROMAN = ("I", "ii", "iii", "IV", "V", "vi", "vii")

_DEGREES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "sus4": (0, 5, 7),
}
_SYMBOL = re.compile(r"^(b|#)?(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(maj7|m7b5|7|sus4)?$")


@dataclass(frozen=True)
class Chord:
    """A chord as pitch classes: `root` (0-11) and its tones, root first."""

    root: int
    pcs: tuple[int, ...]
    symbol: str

    @property
    def third(self) -> int:
        return self.pcs[1]

    @property
    def fifth(self) -> int:
        return self.pcs[2]


def parse_chord(symbol: str, key_root: int) -> Chord:
    """A roman-numeral chord ("vi", "bVII", "ii7", "Imaj7", "V7", "iim7b5") in a key.

    Upper case is major, lower case minor; "7" after a lower-case numeral is a minor seventh.
    """
    m = _SYMBOL.match(symbol)
    if m is None:
        raise ValueError(f"not a roman-numeral chord: {symbol!r}")
    accidental, numeral, suffix = m.groups()
    offset = _DEGREES[numeral.upper()] + {"b": -1, "#": 1, None: 0}[accidental]
    minor = numeral.islower()
    if suffix is None:
        quality = "min" if minor else "maj"
    elif suffix == "7":
        quality = "m7" if minor else "7"
    else:
        quality = suffix
    root = (key_root + offset) % 12
    return Chord(root, tuple((root + i) % 12 for i in QUALITIES[quality]), symbol)


def parse_progression(text: str, key_root: int) -> list[Chord]:
    """ "I-V-vi-IV" -> one chord per bar."""
    return [parse_chord(s, key_root) for s in text.split("-")]


def scale_pitches(key_root: int, mode: Sequence[int], low: int, high: int) -> list[int]:
    """MIDI pitches of a scale within [low, high]."""
    return [p for p in range(low, high + 1) if (p - key_root) % 12 in mode]


def _stack(order: Sequence[int], start: int) -> list[int]:
    notes = [start]
    for pc in order[1:]:
        p = notes[-1] + 1
        while p % 12 != pc:
            p += 1
        notes.append(p)
    return notes


def voice_chord(pcs: Sequence[int], low: int, high: int, prev: Sequence[int] | None) -> list[int]:
    """Close voicing of a chord within [low, high], nearest to the previous voicing."""
    candidates: list[list[int]] = []
    for inv in range(len(pcs)):
        order = list(pcs[inv:]) + list(pcs[:inv])
        for start in range(low, low + 12):
            if start % 12 == order[0]:
                notes = _stack(order, start)
                if notes[-1] <= high:
                    candidates.append(notes)
    if not candidates:
        raise ValueError(f"no voicing of {list(pcs)} fits in [{low}, {high}]")
    centre = (low + high) / 2

    def cost(c: list[int]) -> float:
        if not prev:
            return abs(float(np.mean(c)) - centre)
        return float(sum(abs(a - b) for a, b in zip(c, prev, strict=False)))

    return min(candidates, key=cost)


def nearest(pitch_class: int, low: int, high: int, target: float) -> int:
    """The pitch of a pitch class within [low, high] (widened to an octave) closest to target."""
    options = [p for p in range(low, max(high, low + 11) + 1) if p % 12 == pitch_class % 12]
    return min(options, key=lambda p: abs(p - target))
