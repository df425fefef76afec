"""Generated band arrangements: a seed and a style give sections, harmony, dynamics and parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.data.arrangement import (
    NoteWriter,
    Section,
    Timeline,
    lead_phrase,
    section_at,
    sections_from_plan,
    solo_bar,
)
from models.data.styles import CRASH, KICK, PEDAL_HAT, RIDE, STYLES, Comp, Style
from models.data.theory import (
    KEY_NAMES,
    MODES,
    SOLO_SCALES,
    Chord,
    nearest,
    parse_chord,
    parse_progression,
    scale_pitches,
    voice_chord,
)

TAIL_S = 0.6
"""Time after the last bar for the final chord to ring out."""
END_FADE_S = 0.25
OPTIONAL_ORDER = ("rhythm", "keys", "pad", "strings", "brass", "solo")
INSTRUMENTS: dict[int, str] = {
    0: "piano", 1: "piano", 4: "electric piano", 5: "electric piano", 7: "clavinet",
    11: "vibraphone", 16: "organ", 17: "organ", 22: "harmonica", 24: "acoustic guitar",
    25: "acoustic guitar", 26: "electric guitar", 27: "electric guitar", 28: "electric guitar",
    29: "distorted guitar", 30: "distorted guitar", 32: "acoustic bass", 33: "electric bass",
    34: "electric bass", 35: "electric bass", 36: "electric bass", 38: "synth bass",
    40: "violin", 48: "strings", 49: "strings", 52: "voice", 53: "voice", 54: "voice",
    56: "trumpet", 60: "french horn", 61: "brass section", 62: "brass section",
    65: "saxophone", 66: "saxophone", 73: "flute", 80: "synth lead", 81: "synth lead",
    88: "synth pad", 89: "synth pad",
}  # fmt: skip
"""Instrument class of each GM program the styles use (the labels the embedding learns)."""
REGISTERS: dict[str, tuple[int, int]] = {
    "voice": (57, 77), "saxophone": (52, 76), "trumpet": (58, 80), "flute": (67, 91),
    "violin": (62, 88), "synth lead": (60, 84), "harmonica": (60, 84), "vibraphone": (60, 84),
    "distorted guitar": (57, 86), "electric guitar": (57, 84), "organ": (60, 84),
    "french horn": (50, 74),
}  # fmt: skip
"""Melodic range (MIDI pitches) of the lead and solo instruments."""


@dataclass
class BandPart:
    """One console channel of a generated band: what it plays and how it is labelled."""

    name: str
    role: str
    instrument: str
    program: int
    """GM program (GM drum kit number when is_drum)."""
    is_drum: bool = False
    midi: list[Any] = field(default_factory=list)
    """pretty_midi.Instrument objects rendered together into this channel's source."""


@dataclass
class BandArrangement(Timeline):
    """A written band song: style, key, harmony per bar, sections and parts."""

    style: str = "pop"
    key_root: int = 0
    mode: str = "major"
    progressions: dict[str, str] = field(default_factory=dict)
    chords: list[Chord] = field(default_factory=list)
    """One chord per bar."""
    sections: list[Section] = field(default_factory=list)
    parts: list[BandPart] = field(default_factory=list)
    soloist: str = ""
    """Name of the part that takes the solo section."""

    @property
    def n_bars(self) -> int:
        return len(self.chords)

    def chord_pcs(self, bar: int) -> tuple[int, ...]:
        return self.chords[min(bar, self.n_bars - 1)].pcs

    @property
    def key(self) -> str:
        return f"{KEY_NAMES[self.key_root]} {self.mode}"

    def section_times(self) -> list[dict[str, Any]]:
        """Sections as {name, start_s, end_s}; the last one ends at the end of the song."""
        out = []
        for sec in self.sections:
            end = (
                self.seconds if sec is self.sections[-1] else self.time(sec.first_bar + sec.bars, 0)
            )
            out.append({"name": sec.name, "start_s": round(self.time(sec.first_bar, 0), 3),
                        "end_s": round(end, 3)})  # fmt: skip
        return out


def _choose(rng: np.random.Generator, options: tuple[Any, ...]) -> Any:
    return options[int(rng.integers(len(options)))]


def _channel_name(role: str, instrument: str, style: Style) -> str:
    # fmt: off
    fixed = {"kick": "Kick", "snare": "Snare", "bass": "Bass", "pad": "Pad", "strings": "Strings",
             "brass": "Brass", "drums": "Ride" if style.groove.hat_note == RIDE else "Hi-hat"}
    # fmt: on
    if role in fixed:
        return fixed[role]
    if role == "lead":
        short = {"voice": "vox", "synth lead": "synth"}.get(instrument, instrument)
        return f"Lead {short}"
    if role == "rhythm":
        return "Ac. guitar" if instrument == "acoustic guitar" else "Guitar"
    if role == "solo":
        return "Solo guitar" if "guitar" in instrument else instrument.capitalize()
    return instrument.capitalize()


def compose_band(seed: int, seconds: float, style: str | None = None) -> BandArrangement:
    """Write a band song for a seed (deterministic); style None picks one from the seed."""
    import pretty_midi as pm

    rng = np.random.default_rng([seed, 10])
    if style is None:
        style = str(_choose(rng, tuple(STYLES)))
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    st = STYLES[style]
    tempo0 = float(rng.uniform(*st.tempo))
    n_bars = max(4, round((seconds - TAIL_S) * tempo0 / 240.0))
    tempo = 240.0 * n_bars / (seconds - TAIL_S)
    mode, verse_prog = _choose(rng, st.progressions)
    chorus_prog = _choose(rng, tuple(p for m, p in st.progressions if m == mode))
    key_root = int(rng.integers(12))
    sections = sections_from_plan(st.plan, n_bars)
    verse_chords = parse_progression(verse_prog, key_root)
    chorus_chords = parse_progression(chorus_prog, key_root)
    tonic = parse_chord("Imaj7" if st.name in ("jazz", "bossa") and mode == "major" else
                        ("i" if mode in ("minor", "dorian") else "I"), key_root)  # fmt: skip
    chords = []
    for b in range(n_bars):
        sec = section_at(sections, b)
        prog = chorus_chords if sec.name == "chorus" else verse_chords
        idx = b if len(prog) >= 8 else b - sec.first_bar
        chords.append(tonic if b == n_bars - 1 else prog[idx % len(prog)])
    arr = BandArrangement(
        tempo, seconds, st.swing, style=style, key_root=key_root, mode=mode,
        progressions={"verse": verse_prog, "chorus": chorus_prog}, chords=chords,
        sections=sections,
    )  # fmt: skip

    roles = ["kick", "snare", "drums", "bass"]
    roles += [r for r in OPTIONAL_ORDER if rng.random() < st.optional.get(r, 0.0)]
    if "rhythm" not in roles and "keys" not in roles:
        roles.append("keys")
    roles.append("lead")
    kit = int(_choose(rng, st.programs["drums"]))
    writers: dict[str, NoteWriter] = {}
    for role in roles:
        is_drum = role in ("kick", "snare", "drums")
        program = kit if is_drum else int(_choose(rng, st.programs[role]))
        label = {"kick": "kick drum", "snare": "snare drum", "drums": "cymbals"}.get(
            role, INSTRUMENTS.get(program, pm.program_to_instrument_name(program).lower())
        )
        name = _channel_name(role, label, st)
        taken = {p.name for p in arr.parts}
        if name in taken:
            name = f"{name} {sum(p.name.startswith(name) for p in arr.parts) + 1}"
        arr.parts.append(BandPart(name, role, label, program, is_drum))
        writers[role] = NoteWriter(pm, arr, rng, program, is_drum, name)
    by_role = {p.role: p for p in arr.parts}
    soloist = "solo" if "solo" in by_role else ("rhythm" if "rhythm" in by_role else "keys")
    arr.soloist = by_role[soloist].name

    _write_drums(arr, st, rng, writers)
    _write_bass(arr, st, rng, writers["bass"])
    for role in ("rhythm", "keys", "pad", "strings", "brass"):
        if role in writers:
            _write_chords(arr, st, rng, role, writers[role])
    _write_lead(arr, rng, writers["lead"], by_role["lead"].instrument)
    extra: dict[str, NoteWriter] = {}
    solo_writer = writers.get("solo")
    if solo_writer is None:
        # The rhythm guitar (or keys) takes the solo on a second instrument of its channel.
        part = by_role[soloist]
        program = 29 if part.role == "rhythm" and part.program in (26, 27, 28) else part.program
        solo_writer = extra[soloist] = NoteWriter(pm, arr, rng, program, False, f"{part.name} solo")
    _write_solo(arr, rng, solo_writer, by_role[soloist].instrument, soloist == "solo")

    for part in arr.parts:
        part.midi = [writers[part.role].finish()]
        if part.role in extra:
            part.midi.append(extra[part.role].finish())
    return arr


def _write_drums(
    arr: BandArrangement, st: Style, rng: np.random.Generator, w: dict[str, NoteWriter]
) -> None:
    g = st.groove
    vel = 100 * st.velocity
    for b in range(arr.n_bars):
        sec = section_at(arr.sections, b)
        dyn = sec.dynamics
        big = sec.name in ("chorus", "solo")
        if b == arr.n_bars - 1:
            w["kick"].note(b, 0, 4, KICK, 1.1 * vel * dyn)
            w["snare"].note(b, 0, 4, g.snare_note, 1.05 * vel * dyn)
            w["drums"].note(b, 0, 16, CRASH, 1.1 * vel * dyn, dur_s=1.5)
            continue
        first = b == sec.first_bar
        last = b == sec.first_bar + sec.bars - 1
        hat_note = (g.chorus_hat_note or g.hat_note) if big else g.hat_note
        hats = (g.chorus_hats or g.hats) if big else g.hats
        if sec.name == "intro":
            hats = g.hats[::2]
        for pos in hats:
            w["drums"].note(b, pos, 1, hat_note, (0.9 if pos % 4 == 0 else 0.68) * vel * dyn)
        for pos in g.pedal:
            w["drums"].note(b, pos, 1, PEDAL_HAT, 0.6 * vel * dyn)
        if first and sec.name in ("chorus", "solo", "outro", "verse") and b > 0:
            w["drums"].note(b, 0, 16, CRASH, 1.05 * vel * dyn, dur_s=1.2)
        kicks = (g.chorus_kick or g.kick) if big else g.kick
        if sec.name == "intro":
            kicks = kicks[:1]
        for pos in kicks:
            w["kick"].note(b, pos, 2, KICK, (1.1 if pos % 8 == 0 else 0.95) * vel * dyn)
        if sec.name != "intro":
            for pos in g.snare:
                if not (last and pos >= 12):
                    w["snare"].note(b, pos, 2, g.snare_note, 1.05 * vel * dyn)
            for pos in g.ghosts:
                if rng.random() < 0.5:
                    w["snare"].note(b, pos, 1, g.snare_note, g.ghost_velocity * vel * dyn)
        if last and st.name != "jazz":
            for i, pos in enumerate((12, 13, 14, 15)):
                w["snare"].note(b, pos, 1, 38, (0.68 + 0.12 * i) * vel * dyn)


def _bass_tone(token: str, chord: Chord, nxt: Chord, root: int) -> int:
    if token == "5":
        return root + (chord.fifth - chord.root) % 12
    if token == "8":
        return root + 12
    if token == "3":
        return root + (chord.third - chord.root) % 12
    if token == "7":
        return root + ((chord.pcs[3] if len(chord.pcs) > 3 else chord.root + 10) - chord.root) % 12
    if token == "A":
        return nearest(nxt.root, root - 5, root + 7, root) - 1
    return root


def _write_bass(arr: BandArrangement, st: Style, rng: np.random.Generator, w: NoteWriter) -> None:
    vel = 100 * st.velocity
    intro_rest = arr.sections[0].name == "intro" and arr.sections[0].bars >= 2
    for b in range(arr.n_bars):
        sec = section_at(arr.sections, b)
        chord, nxt = arr.chords[b], arr.chords[min(b + 1, arr.n_bars - 1)]
        root = nearest(chord.root, 33, 44, 38)
        if b == arr.n_bars - 1:
            w.note(
                b, 0, 0, root, vel * sec.dynamics, dur_s=arr.seconds - END_FADE_S - arr.time(b, 0)
            )
            continue
        if intro_rest and b == 0:
            continue
        if st.bass[0][2] == "walk":
            line = [root]
            for _ in range(2):
                step = int(rng.choice([-2, -1, 1, 2, 3, 4]))
                line.append(int(np.clip(line[-1] + step, 28, 52)))
            target = nearest(nxt.root, 28, 52, line[-1])
            line.append(target + (1 if rng.random() < 0.5 else -1))
            for i, p in enumerate(line):
                w.note(b, 4 * i, 4, p, (1.0 if i % 2 == 0 else 0.88) * vel * sec.dynamics)
            continue
        for pos, dur, token in st.bass:
            p = int(np.clip(_bass_tone(token, chord, nxt, root), 28, 55))
            w.note(b, pos, dur, p, (1.0 if pos % 4 == 0 else 0.86) * vel * sec.dynamics)


_CHORD_SECTIONS = {
    "rhythm": ("intro", "verse", "chorus", "solo", "outro"),
    "keys": ("intro", "verse", "chorus", "solo", "outro"),
    "pad": ("intro", "chorus", "solo", "outro"),
    "strings": ("chorus", "outro"),
    "brass": ("chorus",),
}
_BRASS = Comp(((0, 2, 1.0), (6, 1, 0.8), (10, 2, 0.95)), "triad", 58, 79)
_PAD = Comp(((0, 16, 1.0),), "seventh", 52, 74)
_STRINGS = Comp(((0, 8, 1.0), (8, 8, 0.9)), "triad", 60, 84)


def _write_chords(
    arr: BandArrangement, st: Style, rng: np.random.Generator, role: str, w: NoteWriter
) -> None:
    comp = {"rhythm": st.rhythm, "keys": st.keys, "pad": _PAD, "strings": _STRINGS,
            "brass": _BRASS}[role]  # fmt: skip
    base = {"rhythm": 88, "keys": 80, "pad": 72, "strings": 74, "brass": 96}[role] * st.velocity
    prev: list[int] | None = None
    for b in range(arr.n_bars):
        sec = section_at(arr.sections, b)
        if sec.name not in _CHORD_SECTIONS[role] and b != arr.n_bars - 1:
            continue
        if role == "rhythm" and arr.soloist == w.inst.name and sec.name == "solo":
            continue
        chord = arr.chords[b]
        pcs = chord.pcs if comp.voicing in ("seventh", "arpeggio") else chord.pcs[:3]
        if comp.voicing == "power":
            root = nearest(chord.root, comp.low, comp.low + 11, comp.low + 4)
            voicing = [root, root + 7, root + 12]
        else:
            voicing = voice_chord(pcs, comp.low, comp.high, prev)
        prev = voicing
        vel = base * sec.dynamics
        if b == arr.n_bars - 1:
            hold = arr.seconds - END_FADE_S - arr.time(b, 0)
            for i, p in enumerate(voicing):
                w.note(b, 0, 0, p, vel, offset_s=0.012 * i * (comp.strum_s > 0), dur_s=hold)
            continue
        hits = comp.hits if sec.name != "intro" or role != "keys" else ((0, 16, 0.85),)
        for k, (pos, dur, accent) in enumerate(hits):
            if comp.voicing == "arpeggio":
                notes = [voicing[k % len(voicing)] + 12 * (k // len(voicing) % 2)]
            else:
                notes = voicing if k % 2 == 0 or comp.strum_s == 0 else voicing[::-1]
            for i, p in enumerate(notes):
                w.note(b, pos, dur, p, vel * accent, offset_s=comp.strum_s * i)


def _write_lead(arr: BandArrangement, rng: np.random.Generator, w: NoteWriter, inst: str) -> None:
    """The vocal-like lead sings in the verses and choruses; a chorus repeats its hook."""
    low, high = REGISTERS.get(inst, (57, 77))
    scale = scale_pitches(arr.key_root, MODES[arr.mode], low, high)
    hook: list[tuple[int, int, int]] | None = None
    for sec in arr.sections:
        if sec.name not in ("verse", "chorus"):
            continue
        lo, hi = (low, high - 4) if sec.name == "verse" else (low + 4, high)
        for chunk in range(0, sec.bars, 2):
            b = sec.first_bar + chunk
            if sec.name == "chorus" and hook is not None:
                phrase = hook
            else:
                pc = arr.chord_pcs(b)[int(rng.integers(3))]
                phrase = lead_phrase(
                    arr, rng, scale, b, lo, hi, nearest(pc, lo + 3, hi - 5, (lo + hi) / 2)
                )
                if sec.name == "chorus":
                    hook = phrase
            for pos, dur, p in phrase:
                if pos < 16 * (sec.bars - chunk) and b + pos // 16 < arr.n_bars - 1:
                    w.note(b, pos, dur, p, 96 * sec.dynamics, dur_s=dur * arr.sixteenth_s * 0.9)


def _write_solo(
    arr: BandArrangement, rng: np.random.Generator, w: NoteWriter, inst: str, own_channel: bool
) -> None:
    """The solo section; a dedicated solo instrument also plays long counter-notes in choruses."""
    low, high = REGISTERS.get(inst, (57, 84))
    penta = scale_pitches(arr.key_root, SOLO_SCALES[arr.mode], low + 3, high)
    bends = "guitar" in inst
    for b in range(arr.n_bars - 1):
        sec = section_at(arr.sections, b)
        if sec.name == "solo":
            last = b == sec.first_bar + sec.bars - 1
            solo_bar(arr, rng, w, penta, b, arr.chord_pcs(b), last, bends=bends)
        elif own_channel and sec.name in ("chorus", "intro"):
            for pos in (0, 8):
                pc = arr.chord_pcs(b)[int(rng.integers(len(arr.chord_pcs(b))))]
                w.note(b, pos, 7, nearest(pc, low, high, (low + high) / 2), 78 * sec.dynamics)
