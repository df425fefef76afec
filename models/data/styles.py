"""Band styles as data: tempo, feel, harmony, section plans, grooves, parts and instrument pools."""

from __future__ import annotations

from dataclasses import dataclass, field

# GM percussion notes (channel 10 / bank 128).
KICK, RIM, SNARE, HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE = 36, 37, 38, 42, 44, 46, 49, 51


@dataclass(frozen=True)
class Groove:
    """Drum pattern of one bar in sixteenths; `chorus_*` replace the verse pattern when set."""

    kick: tuple[float, ...]
    snare: tuple[float, ...]
    hats: tuple[float, ...]
    hat_note: int = HAT
    snare_note: int = SNARE
    chorus_kick: tuple[float, ...] | None = None
    chorus_hats: tuple[float, ...] | None = None
    chorus_hat_note: int | None = None
    ghosts: tuple[float, ...] = ()
    """Candidate positions of quiet snare ghost notes."""
    pedal: tuple[float, ...] = ()
    """Pedal hi-hat (jazz: on 2 and 4), played on the hats channel."""
    ghost_velocity: float = 0.42


@dataclass(frozen=True)
class Comp:
    """A chord part's rhythm: (pos16, dur16, velocity factor) per bar, and how chords are voiced."""

    hits: tuple[tuple[float, float, float], ...]
    voicing: str = "triad"
    """triad, power (root, fifth, octave), seventh, or arpeggio (one chord tone per hit)."""
    low: int = 55
    high: int = 76
    strum_s: float = 0.0
    """Delay between successive chord notes (guitar strums)."""


WHOLE = Comp(((0, 16, 1.0),))
HALVES = Comp(((0, 8, 1.0), (8, 8, 0.85)))


@dataclass(frozen=True)
class Style:
    """Everything the band generator needs to write a song in one style."""

    name: str
    tempo: tuple[float, float]
    swing: float
    progressions: tuple[tuple[str, str], ...]
    """(mode, roman-numeral progression, one chord per bar)."""
    plan: tuple[tuple[str, float, float], ...]
    """Sections: (name, relative length, dynamics)."""
    groove: Groove
    bass: tuple[tuple[float, float, str], ...]
    """(pos16, dur16, tone): R root, 5 fifth, 8 octave, 3 third, 7 seventh, A approach;
    "walk" alone: a walking line of quarter notes."""
    rhythm: Comp
    keys: Comp
    programs: dict[str, tuple[int, ...]]
    """GM programs to choose from per role (drums: GM drum kits, bank 128)."""
    optional: dict[str, float]
    """Probability that a song of this style has a part of that role."""
    velocity: float = 1.0
    mix_offsets_db: dict[str, float] = field(default_factory=dict)
    """Per-role target-level offsets of the style (see models/data/README.md)."""


_VERSE_CHORUS = (
    ("intro", 2, 0.7),
    ("verse", 4, 0.8),
    ("chorus", 4, 1.0),
    ("solo", 4, 0.92),
    ("chorus", 3, 1.0),
    ("outro", 2, 0.75),
)
_JAZZ = (
    ("intro", 2, 0.7),
    ("verse", 4, 0.8),
    ("solo", 6, 0.9),
    ("chorus", 4, 0.95),
    ("outro", 2, 0.7),
)

# fmt: off
STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "rock",
            (100, 140),
            0.0,
            (("major", "I-IV-V-IV"), ("major", "I-bVII-IV-I"), ("major", "vi-IV-I-V"),
             ("minor", "i-bVI-bIII-bVII"), ("minor", "i-iv-bVII-i")),
            _VERSE_CHORUS,
            Groove(kick=(0, 8, 10), snare=(4, 12), hats=tuple(range(0, 16, 2)),
                   chorus_kick=(0, 6, 8, 10), chorus_hat_note=RIDE, ghosts=(7, 15)),
            ((0, 2, "R"), (2, 2, "R"), (4, 2, "R"), (6, 2, "R"), (8, 2, "R"), (10, 2, "R"),
             (12, 2, "5"), (14, 2, "A")),
            Comp(tuple((p, 2, 1.0 if p % 4 == 0 else 0.8) for p in range(0, 16, 2)),
                 "power", 40, 64, 0.004),
            Comp(((0, 8, 1.0), (8, 8, 0.9)), "triad", 52, 72),
            {"drums": (0, 16, 8), "bass": (33, 34), "rhythm": (29, 30), "keys": (16, 17, 0),
             "lead": (54, 53, 54, 80), "solo": (30, 29), "pad": (48, 89), "brass": (61,),
             "strings": (48, 49)},
            {"rhythm": 1.0, "keys": 0.6, "pad": 0.2, "solo": 0.7, "brass": 0.1, "strings": 0.2},
            1.05,
            {"rhythm": 2.0, "kick": 1.0, "snare": 1.0, "keys": -2.0},
        ),
        Style(
            "pop",
            (90, 125),
            0.0,
            (("major", "I-V-vi-IV"), ("major", "vi-IV-I-V"), ("major", "I-vi-IV-V"),
             ("major", "IV-I-V-vi"), ("minor", "i-bVII-bVI-bVII")),
            _VERSE_CHORUS,
            Groove(kick=(0, 8, 10), snare=(4, 12), hats=tuple(range(0, 16, 2)),
                   chorus_kick=(0, 6, 8, 14), chorus_hats=tuple(range(16)), ghosts=(10, 15)),
            ((0, 3, "R"), (3, 3, "R"), (6, 2, "5"), (8, 2, "R"), (10, 2, "8"), (12, 2, "5"),
             (14, 2, "A")),
            Comp(((0, 6, 1.0), (6, 2, 0.75), (8, 6, 0.95), (14, 2, 0.75)), "triad", 57, 76, 0.009),
            Comp(((0, 3, 1.0), (3, 3, 0.8), (6, 2, 0.8), (8, 3, 0.95), (11, 5, 0.8)),
                 "triad", 55, 74),
            {"drums": (0, 8, 24), "bass": (33, 38, 34), "rhythm": (27, 25), "keys": (0, 4, 5),
             "lead": (54, 53, 54, 81), "solo": (65, 81, 27), "pad": (89, 88, 48), "brass": (61,),
             "strings": (48, 49)},
            {"rhythm": 0.8, "keys": 0.9, "pad": 0.6, "solo": 0.5, "brass": 0.1, "strings": 0.3},
            1.0,
            {"pad": 1.0},
        ),
        Style(
            "funk",
            (95, 115),
            0.08,
            (("dorian", "i7-IV7"), ("mixolydian", "I7-IV7"), ("dorian", "i7-i7-IV7-IV7"),
             ("mixolydian", "I7-I7-bVII-IV7")),
            _VERSE_CHORUS,
            Groove(kick=(0, 3, 6, 10), snare=(4, 12), hats=tuple(range(16)),
                   chorus_kick=(0, 3, 8, 10, 14), ghosts=(2, 7, 9, 11, 15), chorus_hats=None),
            ((0, 2, "R"), (3, 1, "8"), (4, 1, "R"), (6, 2, "7"), (8, 1, "R"), (10, 1, "8"),
             (11, 1, "R"), (13, 2, "5"), (15, 1, "A")),
            Comp(tuple((p, 1, 1.0 if p % 4 == 2 else 0.7) for p in (0, 2, 3, 6, 7, 10, 12, 14)),
                 "seventh", 60, 79),
            Comp(((0, 1, 1.0), (3, 1, 0.8), (6, 2, 0.9), (10, 1, 0.8), (12, 2, 0.9)),
                 "seventh", 55, 74),
            {"drums": (0, 8), "bass": (36, 33, 38), "rhythm": (27, 28), "keys": (7, 4, 16),
             "lead": (54, 53), "solo": (65, 66, 56), "pad": (89,), "brass": (61, 62),
             "strings": (48,)},
            {"rhythm": 1.0, "keys": 0.8, "pad": 0.1, "solo": 0.7, "brass": 0.6, "strings": 0.1},
            1.0,
            {"bass": 2.0, "kick": 1.0, "rhythm": 1.0},
        ),
        Style(
            "jazz",
            (110, 180),
            1 / 3,
            (("major", "ii7-V7-Imaj7-Imaj7"), ("major", "Imaj7-vi7-ii7-V7"),
             ("major", "iii7-vi7-ii7-V7"), ("minor", "iim7b5-V7-i7-i7")),
            _JAZZ,
            Groove(kick=(0,), snare=(), hats=(0, 4, 6, 8, 12, 14), hat_note=RIDE,
                   ghosts=(3, 6, 10, 11, 14), pedal=(4, 12), ghost_velocity=0.7),
            ((0, 4, "walk"),),
            Comp(((0, 3, 1.0), (6, 2, 0.8)), "seventh", 52, 72),
            Comp(((2, 2, 0.8), (6, 3, 0.9), (12, 2, 0.75)), "seventh", 52, 74),
            {"drums": (32, 40), "bass": (32,), "rhythm": (26,), "keys": (0, 4),
             "lead": (65, 66, 53), "solo": (56, 65, 66, 11), "pad": (48,), "brass": (61,),
             "strings": (48,)},
            {"rhythm": 0.5, "keys": 1.0, "pad": 0.0, "solo": 0.9, "brass": 0.2, "strings": 0.1},
            0.85,
            {"kick": -4.0, "snare": -3.0, "drums": 3.0, "bass": 1.0},
        ),
        Style(
            "reggae",
            (68, 90),
            0.1,
            (("major", "I-IV"), ("minor", "i-iv"), ("major", "I-V-vi-IV"), ("minor", "i-bVII")),
            _VERSE_CHORUS,
            Groove(kick=(8,), snare=(8,), hats=tuple(range(0, 16, 2)), snare_note=RIM,
                   ghosts=(14,)),
            ((2, 2, "R"), (4, 1, "R"), (6, 2, "5"), (8, 3, "8"), (11, 2, "5"), (14, 2, "3")),
            Comp(((2, 1, 1.0), (6, 1, 0.9), (10, 1, 1.0), (14, 1, 0.9)), "triad", 60, 79),
            Comp(((3, 1, 0.9), (7, 1, 0.8), (11, 1, 0.9), (15, 1, 0.8)), "triad", 55, 72),
            {"drums": (0, 8), "bass": (33, 38), "rhythm": (27, 28), "keys": (16, 17, 4),
             "lead": (54, 53, 54), "solo": (22, 65, 16), "pad": (89,), "brass": (61,),
             "strings": (48,)},
            {"rhythm": 1.0, "keys": 0.9, "pad": 0.1, "solo": 0.5, "brass": 0.4, "strings": 0.0},
            0.95,
            {"bass": 3.0, "rhythm": -1.0, "kick": 1.0},
        ),
        Style(
            "ballad",
            (60, 82),
            0.0,
            (("major", "I-vi-IV-V"), ("major", "I-V-vi-iii-IV-I-IV-V"), ("major", "I-iii-IV-V"),
             ("minor", "i-bVI-bIII-bVII")),
            _VERSE_CHORUS,
            Groove(kick=(0, 10), snare=(8,), hats=(0, 4, 8, 12), snare_note=RIM,
                   chorus_kick=(0, 10), chorus_hats=tuple(range(0, 16, 2))),
            ((0, 8, "R"), (8, 6, "5"), (14, 2, "A")),
            Comp(tuple((p, 2, 1.0 if p % 8 == 0 else 0.75) for p in range(0, 16, 2)),
                 "arpeggio", 52, 76),
            Comp(tuple((p, 2, 1.0 if p == 0 else 0.7) for p in range(0, 16, 2)),
                 "arpeggio", 55, 79),
            {"drums": (0, 40), "bass": (33, 35), "rhythm": (24, 25), "keys": (0, 1),
             "lead": (54, 53, 54, 73), "solo": (40, 73, 65), "pad": (48, 89), "brass": (60,),
             "strings": (48, 49)},
            {"rhythm": 0.6, "keys": 1.0, "pad": 0.7, "solo": 0.6, "brass": 0.1, "strings": 0.6},
            0.85,
            {"kick": -2.0, "snare": -3.0, "pad": 3.0, "strings": 2.0},
        ),
        Style(
            "blues",
            (80, 120),
            1 / 3,
            (("mixolydian", "I7-I7-I7-I7-IV7-IV7-I7-I7-V7-IV7-I7-V7"),
             ("mixolydian", "I7-IV7-I7-I7-IV7-IV7-I7-I7-V7-IV7-I7-V7")),
            (("intro", 2, 0.75), ("verse", 4, 0.85), ("solo", 6, 0.95), ("verse", 4, 0.9),
             ("outro", 2, 0.8)),
            Groove(kick=(0, 8), snare=(4, 12), hats=(0, 2, 4, 6, 8, 10, 12, 14), ghosts=(14,)),
            ((0, 2, "R"), (2, 2, "3"), (4, 2, "5"), (6, 2, "8"), (8, 2, "7"), (10, 2, "5"),
             (12, 2, "3"), (14, 2, "A")),
            Comp(tuple((p, 2, 1.0 if p % 4 == 0 else 0.8) for p in range(0, 16, 2)),
                 "power", 40, 64),
            Comp(((2, 2, 0.9), (6, 2, 0.8), (10, 2, 0.9), (14, 2, 0.8)), "seventh", 55, 74),
            {"drums": (0, 8), "bass": (33, 34), "rhythm": (27, 29), "keys": (0, 17, 16),
             "lead": (54, 53), "solo": (29, 22, 30, 65), "pad": (17,), "brass": (61,),
             "strings": (48,)},
            {"rhythm": 1.0, "keys": 0.8, "pad": 0.2, "solo": 0.9, "brass": 0.2, "strings": 0.0},
            1.0,
            {"solo": 1.0},
        ),
        Style(
            "bossa",
            (120, 145),
            0.0,
            (("major", "Imaj7-ii7-V7-Imaj7"), ("major", "Imaj7-II7-ii7-V7"),
             ("minor", "i7-iv7-V7-i7")),
            _JAZZ,
            Groove(kick=(0, 6, 8, 14), snare=(0, 6, 12), hats=tuple(range(0, 16, 2)),
                   snare_note=RIM, chorus_hat_note=RIDE),
            ((0, 6, "R"), (6, 2, "5"), (8, 6, "5"), (14, 2, "R")),
            Comp(((0, 3, 1.0), (3, 3, 0.8), (6, 4, 0.9), (10, 3, 0.8), (13, 3, 0.85)),
                 "seventh", 52, 72),
            Comp(((0, 6, 0.9), (6, 4, 0.8), (10, 6, 0.8)), "seventh", 55, 74),
            {"drums": (0, 40, 32), "bass": (32, 33), "rhythm": (24,), "keys": (4, 0),
             "lead": (73, 54, 53), "solo": (65, 73, 56), "pad": (48, 89), "brass": (61,),
             "strings": (48, 49)},
            {"rhythm": 1.0, "keys": 0.6, "pad": 0.4, "solo": 0.6, "brass": 0.1, "strings": 0.4},
            0.85,
            {"kick": -3.0, "snare": -3.0, "rhythm": 2.0},
        ),
    )
}
# fmt: on
"""Eight styles; the names are what `--styles` accepts."""
