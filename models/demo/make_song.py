"""Generate the bundled demo multitrack song: an 8-channel live band groove with stage bleed.

The arrangement is written with pretty_midi from a seed (tempo, key, 4-chord progression,
sections with dynamics), every part is rendered to 48 kHz mono with the fluidsynth CLI, the
acoustic parts are placed on a stage in a pyroomacoustics shoebox room and picked up by cardioid
close mics (so each mic also hears the other sources), bass and keys come in as DI channels,
and an engineer-like target mix is made from the clean sources.

    python -m models.demo.make_song [--out DIR] [--seconds S] [--seed K] [--soundfont PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import oaconvolve

from models.song import ChannelInfo, Song, SongMeta, save_song

SAMPLE_RATE = 48_000
DEFAULT_SECONDS = 24.0
MIN_SECONDS = 12.0
"""Shorter songs would need a tempo above 120 bpm to fit one bar per section."""
DEFAULT_SEED = 7
DEFAULT_OUT = Path(__file__).parent / "song"
TAIL_S = 0.6
"""Time after the last bar for the final chord to ring out."""
FADE_S = 0.25
NO_BLEED_DB = -120.0
"""Bleed-matrix value for a source that never reaches a mic (DI channels, DI sources)."""
PEAK_DBFS = -3.0
"""Peak of the loudest channel after normalisation."""
MIX_PEAK_DBFS = -1.0
NOISE_DBFS = -80.0
"""RMS of the mic / preamp self-noise added to every channel."""
TRIM_RANGE_DB = 6.0
SOLO_BOOST_DB = 4.0
NOMINAL_DBFS = -20.0
"""Active RMS of each channel's own source before the random input trims."""

SOUNDFONT_NAME = "FluidR3_GM.sf2"
SOUNDFONT_ENV = "AILIVE_SOUNDFONT"
# Where Linux distributions install General MIDI soundfonts (Debian: fluid-soundfont-gm).
SOUNDFONT_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
)
SOUNDFONT_LICENCES = {
    "FluidR3_GM.sf2": "MIT (FluidR3_GM)",
    "TimGM6mb.sf2": "GPL-2.0 (TimGM6mb)",
}

ROOM_DIM = (8.0, 6.0, 3.5)
ROOM_RT60_S = 0.5
ROOM_MAX_ORDER = 10

MAJOR = (0, 2, 4, 5, 7, 9, 11)
PENTATONIC = (0, 2, 4, 7, 9)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
PROGRESSIONS: tuple[tuple[int, int, int, int], ...] = (
    (0, 4, 5, 3),  # I  V  vi IV
    (5, 3, 0, 4),  # vi IV I  V
    (0, 5, 3, 4),  # I  vi IV V
    (0, 3, 5, 4),  # I  IV vi V
)
ROMAN = ("I", "ii", "iii", "IV", "V", "vi", "vii")

GM_KICK, GM_SNARE, GM_HAT_CLOSED, GM_HAT_OPEN, GM_CRASH = 36, 38, 42, 46, 49

# Section name, relative length, dynamics (velocity multiplier).
SECTION_PLAN: tuple[tuple[str, int, float], ...] = (
    ("intro", 2, 0.68),
    ("verse", 3, 0.80),
    ("chorus", 2, 1.00),
    ("break", 2, 0.92),
    ("outro", 2, 0.74),
)


@dataclass(frozen=True)
class Part:
    """One console channel: how it is played, where it stands and how it is mixed."""

    name: str
    instrument: str
    role: str
    program: str
    """GM program (or drum notes) used, for the provenance record."""
    source: tuple[float, float, float] | None = None
    """Position on stage (m); None for a DI channel, which is not heard in the room."""
    mic_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Close mic position relative to the source (m); the mic is aimed at the source."""
    stage_db: float = 0.0
    """Acoustic level of the source on stage (dB relative to the others, by active RMS)."""
    mix_db: float = 0.0
    """Level in the target mix relative to the lead."""


# fmt: off
# Stage: the audience is towards y = 0; drums centre back, guitar amp stage right, organ (Leslie)
# stage left, the singer front centre. Bass and keys are DI and monitored in-ear: not in the room.
PARTS: tuple[Part, ...] = (
    Part("Kick", "kick drum", "kick", "GM drums 36",
         source=(3.80, 4.70, 0.35), mic_offset=(0.0, -0.12, 0.0), stage_db=0.0, mix_db=-3.0),
    Part("Snare", "snare drum", "snare", "GM drums 38",
         source=(3.45, 4.45, 0.65), mic_offset=(-0.05, -0.10, 0.07), stage_db=-1.0, mix_db=-5.0),
    Part("Overhead/hats", "drums", "drums", "GM drums 42/46 (hi-hat), 49 (crash)",
         source=(3.10, 4.55, 0.90), mic_offset=(0.0, 0.0, 0.18), stage_db=-2.0, mix_db=-12.0),
    Part("Bass", "electric bass", "bass", "GM 34 Electric Bass (finger)", mix_db=-4.0),
    Part("Guitar", "electric guitar", "rhythm", "GM 28 Electric Guitar (clean), GM 30 Overdriven",
         source=(5.90, 4.90, 0.45), mic_offset=(0.0, -0.10, 0.0), stage_db=-2.0, mix_db=-8.0),
    Part("Keys", "electric piano", "keys", "GM 5 Electric Piano 1", mix_db=-9.0),
    Part("Lead", "synth voice (vocal-like lead)", "lead", "GM 55 Synth Voice",
         source=(4.00, 3.00, 1.60), mic_offset=(0.0, -0.07, -0.02), stage_db=-2.0, mix_db=0.0),
    Part("Organ", "drawbar organ", "pad", "GM 17 Drawbar Organ",
         source=(1.90, 4.80, 0.90), mic_offset=(0.0, -0.25, 0.10), stage_db=-6.0, mix_db=-14.0),
)
# fmt: on


@dataclass
class Section:
    name: str
    first_bar: int
    bars: int
    dynamics: float


@dataclass
class Arrangement:
    """The written song: tempo, harmony, sections and MIDI instruments per part."""

    tempo: float
    key_root: int
    progression: tuple[int, int, int, int]
    sections: list[Section]
    seconds: float
    parts: dict[str, list[Any]] = field(default_factory=dict)
    """Part name -> list of pretty_midi.Instrument."""

    @property
    def sixteenth_s(self) -> float:
        return 15.0 / self.tempo

    @property
    def bar_s(self) -> float:
        return 16 * self.sixteenth_s

    def time(self, bar: int, pos16: float) -> float:
        return (bar * 16 + pos16) * self.sixteenth_s

    def section_at(self, bar: int) -> Section:
        for sec in self.sections:
            if sec.first_bar <= bar < sec.first_bar + sec.bars:
                return sec
        return self.sections[-1]

    def chord_pcs(self, bar: int) -> list[int]:
        """Pitch classes of the bar's triad; the progression restarts each section, ends on I."""
        sec = self.section_at(bar)
        degree = 0 if bar >= self.n_bars - 1 else self.progression[(bar - sec.first_bar) % 4]
        return [(self.key_root + MAJOR[(degree + k) % 7]) % 12 for k in (0, 2, 4)]

    @property
    def n_bars(self) -> int:
        last = self.sections[-1]
        return last.first_bar + last.bars


# ---------------------------------------------------------------------------------------------
# Composition


def plan_sections(n_bars: int) -> list[tuple[str, int, float]]:
    """Share n_bars among the sections of SECTION_PLAN (at least one bar each)."""
    weights = np.array([w for _, w, _ in SECTION_PLAN], dtype=float)
    exact = weights / weights.sum() * n_bars
    bars = np.maximum(1, np.floor(exact)).astype(int)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while bars.sum() < n_bars:
        bars[order[i % len(order)]] += 1
        i += 1
    while bars.sum() > n_bars:
        j = int(np.argmax(bars))
        bars[j] -= 1
    return [(name, int(b), dyn) for (name, _, dyn), b in zip(SECTION_PLAN, bars, strict=True)]


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
    centre = (low + high) / 2

    def cost(c: list[int]) -> float:
        if not prev:
            return abs(float(np.mean(c)) - centre)
        return float(sum(abs(a - b) for a, b in zip(c, prev, strict=False)))

    return min(candidates, key=cost)


def _nearest(pitch_class: int, low: int, high: int, target: float) -> int:
    options = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    return min(options, key=lambda p: abs(p - target))


class _Writer:
    """Collects notes for one pretty_midi instrument with humanised timing and velocity."""

    def __init__(
        self,
        pm: Any,
        arr: Arrangement,
        rng: np.random.Generator,
        program: int,
        is_drum: bool,
        name: str,
        jitter_s: float = 0.004,
    ) -> None:
        self.inst = pm.Instrument(program=program, is_drum=is_drum, name=name)
        self.pm = pm
        self.arr = arr
        self.rng = rng
        self.jitter_s = jitter_s

    def note(
        self,
        bar: int,
        pos16: float,
        dur16: float,
        pitch: int,
        velocity: float,
        offset_s: float = 0.0,
        dur_s: float | None = None,
    ) -> Any:
        start = self.arr.time(bar, pos16) + offset_s + float(self.rng.normal(0.0, self.jitter_s))
        start = max(0.0, start)
        length = dur_s if dur_s is not None else dur16 * self.arr.sixteenth_s * 0.95
        vel = int(np.clip(round(velocity + self.rng.normal(0.0, 4.0)), 1, 127))
        n = self.pm.Note(velocity=vel, pitch=int(pitch), start=start, end=start + max(0.03, length))
        self.inst.notes.append(n)
        return n

    def finish(self) -> Any:
        # A silent controller at the very end makes fluidsynth render the whole length.
        self.inst.control_changes.append(self.pm.ControlChange(110, 0, self.arr.seconds))
        return self.inst


def compose(seed: int, seconds: float) -> Arrangement:
    """Write the arrangement for a seed; deterministic."""
    import pretty_midi as pm

    rng = np.random.default_rng([seed, 0])
    tempo0 = float(rng.uniform(104.0, 116.0))
    n_bars = max(len(SECTION_PLAN), round((seconds - TAIL_S) * tempo0 / 240.0))
    tempo = 240.0 * n_bars / (seconds - TAIL_S)
    key_root = int(rng.choice([0, 2, 4, 5, 7, 9]))
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    sections: list[Section] = []
    bar = 0
    for name, bars, dyn in plan_sections(n_bars):
        sections.append(Section(name, bar, bars, dyn))
        bar += bars
    arr = Arrangement(tempo, key_root, progression, sections, seconds)

    def writer(program: int, name: str, is_drum: bool = False) -> _Writer:
        return _Writer(pm, arr, rng, program, is_drum, name)

    kick, snare, hats = (writer(0, n, True) for n in ("kick", "snare", "hats"))
    bass = writer(33, "bass")
    gtr, solo = writer(27, "guitar"), writer(29, "guitar solo")
    keys, organ, lead = writer(4, "keys"), writer(16, "organ"), writer(54, "lead")

    scale = [p for p in range(40, 96) if (p - key_root) % 12 in MAJOR]
    penta = [p for p in range(62, 89) if (p - key_root) % 12 in PENTATONIC]
    keys_prev: list[int] | None = None
    organ_prev: list[int] | None = None
    gtr_prev: list[int] | None = None
    final_bar = n_bars - 1
    end_s = seconds - FADE_S

    _write_drums(arr, rng, kick, snare, hats)

    # Bass, guitar, keys and organ: bar by bar.
    for b in range(n_bars):
        sec = arr.section_at(b)
        dyn = sec.dynamics
        pcs = arr.chord_pcs(b)
        nxt = arr.chord_pcs(b + 1) if b < final_bar else pcs
        root = _nearest(pcs[0], 33, 44, 38)
        keys_prev = voice_chord(pcs, 55, 74, keys_prev)
        organ_prev = voice_chord(pcs, 52, 70, organ_prev)
        gtr_prev = voice_chord(pcs, 57, 76, gtr_prev)
        left = _nearest(pcs[0], 43, 54, 48)
        hold_s = end_s - arr.time(b, 0)

        if b == final_bar:
            bass.note(b, 0, 0, root, 100 * dyn, dur_s=hold_s)
            for p in [left, *keys_prev]:
                keys.note(b, 0, 0, p, 84 * dyn, dur_s=hold_s)
            for p in organ_prev:
                organ.note(b, 0, 0, p, 80 * dyn, dur_s=hold_s)
            for i, p in enumerate([root + 12, *gtr_prev]):
                gtr.note(b, 0, 0, p, 92 * dyn, offset_s=0.012 * i, dur_s=hold_s)
            continue

        # Organ pad: whole-bar chords (from the intro on).
        for p in organ_prev:
            organ.note(b, 0, 16, p, 78 * dyn, dur_s=arr.bar_s * 0.98)

        # Keys: sustained in the intro, comping in verse/chorus/break, halves in the outro.
        if sec.name == "intro":
            keys.note(b, 0, 16, left, 70 * dyn)
            for i, p in enumerate(keys_prev):
                keys.note(b, 0, 8, p, 72 * dyn)
                keys.note(b, 8 + i, 8 - i, p, 60 * dyn)
        elif sec.name == "outro":
            for pos in (0, 8):
                for p in [left, *keys_prev]:
                    keys.note(b, pos, 8, p, 76 * dyn)
        else:
            keys.note(b, 0, 6, left, 78 * dyn)
            hits = (0, 4, 8, 12) if sec.name == "chorus" else (0, 6, 10)
            lengths = (3, 3, 3, 3) if sec.name == "chorus" else (5, 3, 5)
            for pos, ln in zip(hits, lengths, strict=True):
                for p in keys_prev:
                    keys.note(b, pos, ln, p, (82 if pos % 8 == 0 else 72) * dyn)

        # Bass enters with the verse.
        if sec.name != "intro":
            fifth = root + 7
            approach = _nearest(nxt[0], root - 5, root + 7, root) - 1
            if sec.name == "outro":
                pattern = [(0, 6, root), (6, 2, root), (8, 8, fifth)]
            elif sec.name == "chorus":
                pattern = [(p, 2, root if p % 8 != 6 else root + 12) for p in range(0, 16, 2)]
            else:
                pattern = [
                    (0, 3, root),
                    (3, 3, root),
                    (6, 2, root),
                    (8, 2, root),
                    (10, 2, fifth),
                    (12, 2, root + 12),
                    (14, 2, approach),
                ]
            for pos, dur, p in pattern:
                bass.note(b, pos, dur, p, (104 if pos % 4 == 0 else 88) * dyn)

        # Guitar: off-beat chops in the verse, strums in the chorus, hits in the outro.
        voicing = [root + 12, *gtr_prev]
        if sec.name == "verse":
            for pos in (2, 6, 10, 14):
                for i, p in enumerate(gtr_prev):
                    gtr.note(b, pos, 0, p, 84 * dyn, offset_s=0.006 * i, dur_s=0.11)
        elif sec.name == "chorus":
            for pos, dur, down in ((0, 6, True), (6, 2, False), (8, 6, True), (14, 2, False)):
                notes = voicing if down else voicing[::-1]
                for i, p in enumerate(notes):
                    gtr.note(b, pos, dur, p, (96 if down else 80) * dyn, offset_s=0.009 * i)
        elif sec.name == "outro":
            for i, p in enumerate(voicing):
                gtr.note(b, 0, 14, p, 86 * dyn, offset_s=0.012 * i)
        elif sec.name == "break":
            _solo_bar(arr, rng, solo, penta, b, pcs, last=(b == sec.first_bar + sec.bars - 1))

    # Lead: sings in the verse and the chorus; the chorus repeats one hook.
    for sec in sections:
        if sec.name not in ("verse", "chorus"):
            continue
        low, high = (57, 76) if sec.name == "verse" else (62, 81)
        hook: list[tuple[int, int, int]] | None = None
        for chunk in range(0, sec.bars, 2):
            b = sec.first_bar + chunk
            if sec.name == "chorus" and hook is not None:
                phrase = hook
            else:
                start = _nearest(
                    arr.chord_pcs(b)[int(rng.integers(3))], low + 3, high - 5, (low + high) / 2
                )
                phrase = _lead_phrase(arr, rng, scale, b, low, high, start)
                hook = phrase
            for pos, dur, p in phrase:
                if pos < 16 * (sec.bars - chunk):
                    lead.note(b, pos, dur, p, 96 * sec.dynamics, dur_s=dur * arr.sixteenth_s * 0.9)

    arr.parts = {
        "Kick": [kick.finish()],
        "Snare": [snare.finish()],
        "Overhead/hats": [hats.finish()],
        "Bass": [bass.finish()],
        "Guitar": [gtr.finish(), solo.finish()],
        "Keys": [keys.finish()],
        "Lead": [lead.finish()],
        "Organ": [organ.finish()],
    }
    return arr


def _write_drums(
    arr: Arrangement, rng: np.random.Generator, kick: _Writer, snare: _Writer, hats: _Writer
) -> None:
    final_bar = arr.n_bars - 1
    for b in range(arr.n_bars):
        sec = arr.section_at(b)
        dyn = sec.dynamics
        last_of_section = b == sec.first_bar + sec.bars - 1
        first_of_section = b == sec.first_bar
        if b == final_bar:
            kick.note(b, 0, 4, GM_KICK, 110 * dyn)
            hats.note(b, 0, 16, GM_CRASH, 110 * dyn, dur_s=1.5)
            continue
        # Hats (and crashes on the overhead).
        if sec.name == "intro":
            for pos in range(0, 16, 4):
                hats.note(b, pos, 1, GM_HAT_CLOSED, (80 if pos == 0 else 64) * dyn)
        else:
            step = 2
            for pos in range(0, 16, step):
                open_hat = (sec.name in ("chorus", "break") and pos == 14) or (
                    sec.name == "break" and pos == 6
                )
                pitch = GM_HAT_OPEN if open_hat else GM_HAT_CLOSED
                vel = (92 if pos % 4 == 0 else 70) * dyn
                hats.note(b, pos, 2 if open_hat else 1, pitch, vel)
            if first_of_section and sec.name in ("chorus", "break", "outro"):
                hats.note(b, 0, 16, GM_CRASH, 108 * dyn, dur_s=1.2)
        # Kick.
        if sec.name != "intro":
            if sec.name == "chorus":
                kicks = [0, 6, 8, 10]
            elif sec.name == "outro":
                kicks = [0, 8]
            else:
                kicks = [0, 8, 10]
                if rng.random() < 0.5:
                    kicks.append(int(rng.choice([3, 6, 14])))
            for pos in sorted(kicks):
                kick.note(b, pos, 2, GM_KICK, (112 if pos % 8 == 0 else 96) * dyn)
        # Snare: backbeat, ghost notes, fills into the next section.
        if sec.name != "intro":
            for pos in (4, 12):
                if last_of_section and pos == 12 and sec.name in ("verse", "break"):
                    continue
                snare.note(b, pos, 2, GM_SNARE, 108 * dyn)
            if sec.name in ("verse", "break") and rng.random() < 0.6:
                snare.note(b, int(rng.choice([7, 10, 15])), 1, GM_SNARE, 44 * dyn)
        if last_of_section and sec.name in ("intro", "verse", "break"):
            for i, pos in enumerate((12, 13, 14, 15)):
                snare.note(b, pos, 1, GM_SNARE, (70 + 12 * i) * dyn)


def _lead_phrase(
    arr: Arrangement,
    rng: np.random.Generator,
    scale: list[int],
    bar: int,
    low: int,
    high: int,
    start: int,
) -> list[tuple[int, int, int]]:
    """A 2-bar melodic phrase: chord tones on the beats, scale steps in between."""
    templates = (
        [(0, 2), (2, 2), (4, 4), (8, 2), (10, 2), (12, 4), (16, 2), (18, 2), (20, 6)],
        [(2, 2), (4, 2), (6, 4), (10, 2), (12, 4), (18, 2), (20, 2), (22, 2), (24, 6)],
        [(0, 4), (4, 2), (6, 2), (8, 6), (16, 2), (18, 2), (20, 4), (24, 6)],
        [(0, 3), (3, 1), (4, 4), (8, 4), (14, 2), (16, 6), (22, 2), (24, 6)],
    )
    rhythm = templates[int(rng.integers(len(templates)))]
    in_range = [p for p in scale if low <= p <= high]
    cur = start
    out: list[tuple[int, int, int]] = []
    for k, (pos, dur) in enumerate(rhythm):
        b = bar + pos // 16
        pcs = arr.chord_pcs(b)
        strong = pos % 4 == 0 or k == len(rhythm) - 1
        if strong:
            tones = [p for p in in_range if p % 12 in pcs and p != cur and abs(p - cur) <= 7]
            if not tones:
                tones = [p for p in in_range if p % 12 in pcs]
            cur = int(rng.choice(tones))
        else:
            idx = min(range(len(in_range)), key=lambda i: abs(in_range[i] - cur))
            centre = (low + high) / 2
            direction = 1 if (cur < centre and rng.random() < 0.7) or rng.random() < 0.3 else -1
            idx = int(np.clip(idx + direction * int(rng.choice([1, 1, 2])), 0, len(in_range) - 1))
            cur = in_range[idx]
        out.append((pos, dur, cur))
    return out


def _solo_bar(
    arr: Arrangement,
    rng: np.random.Generator,
    solo: _Writer,
    penta: list[int],
    bar: int,
    pcs: list[int],
    last: bool,
) -> None:
    """One bar of a pentatonic guitar solo, with some bends."""
    import pretty_midi as pm

    cells = (
        [(0, 2), (2, 2)],
        [(0, 1), (1, 1), (2, 1), (3, 1)],
        [(0, 4)],
        [(0, 3), (3, 1)],
        [(2, 2)],
        [(0, 1), (1, 1), (2, 2)],
    )
    weights = np.array([3, 3, 1.5, 2, 1, 2])
    idx = int(rng.integers(len(penta) // 3, 2 * len(penta) // 3))
    for beat in range(4):
        if last and beat == 3:
            target = _nearest(pcs[0], penta[0], penta[-1], penta[idx])
            solo.note(bar, 12, 4, target, 108, dur_s=arr.sixteenth_s * 4.5)
            break
        cell = cells[int(rng.choice(len(cells), p=weights / weights.sum()))]
        for pos, dur in cell:
            idx = int(np.clip(idx + int(rng.choice([-2, -1, -1, 1, 1, 2])), 0, len(penta) - 1))
            pitch = penta[idx]
            start16 = beat * 4 + pos
            if dur >= 3 and rng.random() < 0.6:
                # Bend up a whole tone into the target note.
                n = solo.note(bar, start16, dur, pitch - 2, 110)
                solo.inst.pitch_bends.extend(
                    pm.PitchBend(int(8191 * f), n.start + 0.02 + 0.08 * f) for f in (0.25, 0.6, 1.0)
                )
                solo.inst.pitch_bends.append(pm.PitchBend(0, n.end + 0.005))
            else:
                solo.note(bar, start16, dur, pitch, 100 + 8 * (pos == 0))


# ---------------------------------------------------------------------------------------------
# Rendering


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """The soundfont to render with: --soundfont, $AILIVE_SOUNDFONT, or the system's FluidR3_GM."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"soundfont not found: {path}")
        return path
    env = os.environ.get(SOUNDFONT_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(f"${SOUNDFONT_ENV} points to a missing file: {path}")
        return path
    for folder in SOUNDFONT_DIRS:
        path = folder / SOUNDFONT_NAME
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{SOUNDFONT_NAME} not found in {', '.join(str(d) for d in SOUNDFONT_DIRS)}: install it "
        f"(Debian/Ubuntu: apt-get install fluid-soundfont-gm) or pass --soundfont PATH "
        f"(or set ${SOUNDFONT_ENV})"
    )


def find_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise FileNotFoundError(
            "the fluidsynth program is not on PATH: install it "
            "(Debian/Ubuntu: apt-get install fluidsynth; macOS: brew install fluid-synth)"
        )
    return exe


def render_part(
    instruments: list[Any],
    tempo: float,
    soundfont: Path,
    fluidsynth: str,
    workdir: Path,
    stem: str,
    n_samples: int,
) -> np.ndarray:
    """Render MIDI instruments to a mono float32 track of exactly n_samples at 48 kHz."""
    import pretty_midi as pm

    midi = pm.PrettyMIDI(resolution=960, initial_tempo=tempo)
    midi.instruments.extend(instruments)
    mid_path = workdir / f"{stem}.mid"
    wav_path = workdir / f"{stem}.wav"
    midi.write(str(mid_path))
    cmd = [
        fluidsynth,
        "-ni",
        "-q",
        "-R",
        "0",
        "-C",
        "0",
        "-r",
        str(SAMPLE_RATE),
        "-g",
        "0.5",
        "-O",
        "float",
        "-T",
        "wav",
        "-F",
        str(wav_path),
        str(soundfont),
        str(mid_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not wav_path.exists():
        raise RuntimeError(f"fluidsynth failed on {stem} ({proc.returncode}): {proc.stderr[-500:]}")
    data, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz for {stem}, expected {SAMPLE_RATE}")
    mono = data.mean(axis=1)
    out = np.zeros(n_samples, dtype=np.float32)
    out[: min(n_samples, len(mono))] = mono[:n_samples]
    if not np.any(np.abs(out) > 1e-4):
        raise RuntimeError(f"{stem} rendered silent: does {soundfont.name} have the GM programs?")
    return out


def render_all(arr: Arrangement, soundfont: Path, n_samples: int) -> dict[str, np.ndarray]:
    fluidsynth = find_fluidsynth()
    with tempfile.TemporaryDirectory(prefix="ailive_demo_") as tmp:
        workdir = Path(tmp)
        with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
            futures = {
                name: pool.submit(
                    render_part,
                    insts,
                    arr.tempo,
                    soundfont,
                    fluidsynth,
                    workdir,
                    f"{i:02d}",
                    n_samples,
                )
                for i, (name, insts) in enumerate(arr.parts.items())
            }
            return {name: fut.result() for name, fut in futures.items()}


# ---------------------------------------------------------------------------------------------
# Stage, bleed and mix


def active_rms(x: np.ndarray, frame: int = 2400, floor_db: float = -30.0) -> float:
    """RMS over the frames within floor_db of the loudest frame (ignores rests)."""
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(x**2)) + 1e-12)
    frames = np.sqrt(np.mean(x[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    keep = frames >= frames.max() * 10 ** (floor_db / 20)
    return float(np.sqrt(np.mean(frames[keep] ** 2)) + 1e-12)


def _direction(mic: np.ndarray, src: np.ndarray) -> tuple[float, float]:
    v = src - mic
    azimuth = float(np.degrees(np.arctan2(v[1], v[0])))
    colatitude = float(np.degrees(np.arccos(v[2] / np.linalg.norm(v))))
    return azimuth, colatitude


def stage_images(dry: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """images[mic][source]: what each close mic picks up of each acoustic source on stage."""
    import pyroomacoustics as pra
    from pyroomacoustics.directivities import Cardioid, DirectionVector

    miked = [p for p in PARTS if p.source is not None]
    absorption, _ = pra.inverse_sabine(ROOM_RT60_S, list(ROOM_DIM))
    room = pra.ShoeBox(
        list(ROOM_DIM), fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=ROOM_MAX_ORDER
    )
    for part in miked:
        assert part.source is not None
        room.add_source(list(part.source))
    for part in miked:
        assert part.source is not None
        src = np.array(part.source)
        mic = src + np.array(part.mic_offset)
        azimuth, colatitude = _direction(mic, src)
        aim = DirectionVector(azimuth=azimuth, colatitude=colatitude, degrees=True)
        room.add_microphone(mic, directivity=Cardioid(aim))
    room.compute_rir()
    delay = pra.constants.get("frac_delay_length") // 2
    images: dict[str, dict[str, np.ndarray]] = {}
    for m, mic_part in enumerate(miked):
        images[mic_part.name] = {}
        for s, src_part in enumerate(miked):
            x = dry[src_part.name].astype(np.float64) / active_rms(dry[src_part.name])
            x *= 10 ** (src_part.stage_db / 20)
            rir = np.asarray(room.rir[m][s], dtype=np.float64)
            y = oaconvolve(x, rir)[delay : delay + len(x)]
            images[mic_part.name][src_part.name] = y
    return images


def bleed_matrix(images: dict[str, dict[str, np.ndarray]]) -> list[list[float]]:
    """bleed[m][s] in dB: RMS of source s in mic m relative to mic m's own source."""
    names = [p.name for p in PARTS]
    matrix = [[NO_BLEED_DB] * len(names) for _ in names]
    for m, mic in enumerate(names):
        matrix[m][m] = 0.0
        if mic not in images:
            continue
        own = float(np.sqrt(np.mean(images[mic][mic] ** 2)))
        for s, src in enumerate(names):
            if s != m and src in images[mic]:
                level = float(np.sqrt(np.mean(images[mic][src] ** 2)))
                matrix[m][s] = round(20 * np.log10(level / own + 1e-12), 1)
    return matrix


def _fade_out(x: np.ndarray, n: int) -> np.ndarray:
    y = x.copy()
    y[-n:] *= 0.5 * (1 + np.cos(np.linspace(0.0, np.pi, n)))
    return y


def _gain_envelope(
    n_samples: int, start_s: float, end_s: float, boost_db: float, ramp_s: float = 0.08
) -> np.ndarray:
    t = np.arange(n_samples) / SAMPLE_RATE
    up = np.clip((t - (start_s - ramp_s)) / ramp_s, 0.0, 1.0)
    down = np.clip((end_s - t) / ramp_s, 0.0, 1.0)
    return 10 ** (boost_db * np.minimum(up, down) / 20)


def target_mix(dry: dict[str, np.ndarray], arr: Arrangement) -> np.ndarray:
    """Engineer-like mono mix of the clean sources: per-role levels, guitar up in the break."""
    n = len(next(iter(dry.values())))
    mix = np.zeros(n, dtype=np.float64)
    solo = next(s for s in arr.sections if s.name == "break")
    for part in PARTS:
        x = dry[part.name].astype(np.float64) / active_rms(dry[part.name])
        gain = 10 ** (part.mix_db / 20)
        if part.name == "Guitar":
            start = solo.first_bar * arr.bar_s
            x = x * _gain_envelope(n, start, start + solo.bars * arr.bar_s, SOLO_BOOST_DB)
        mix += gain * x
    mix = _fade_out(mix, int(FADE_S * SAMPLE_RATE))
    return (mix * 10 ** (MIX_PEAK_DBFS / 20) / np.max(np.abs(mix))).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The song


def make_song(
    seed: int = DEFAULT_SEED, seconds: float = DEFAULT_SECONDS, soundfont: str | Path | None = None
) -> Song:
    """Compose, render, place on stage and mix the demo song for a seed."""
    if seconds < MIN_SECONDS:
        raise ValueError(f"--seconds must be at least {MIN_SECONDS:g} (got {seconds:g})")
    sf2 = find_soundfont(soundfont)
    n = round(seconds * SAMPLE_RATE)
    arr = compose(seed, seconds)
    dry = render_all(arr, sf2, n)
    images = stage_images(dry)
    bleed = bleed_matrix(images)

    rng = np.random.default_rng([seed, 1])
    trims = [round(float(v), 1) for v in rng.uniform(-TRIM_RANGE_DB, TRIM_RANGE_DB, len(PARTS))]
    fade = int(FADE_S * SAMPLE_RATE)
    channels = []
    for part, trim in zip(PARTS, trims, strict=True):
        if part.name in images:
            own = active_rms(images[part.name][part.name])
            signal = np.sum(list(images[part.name].values()), axis=0) / own
        else:
            signal = dry[part.name].astype(np.float64) / active_rms(dry[part.name])
        channels.append(_fade_out(np.asarray(signal), fade) * 10 ** ((NOMINAL_DBFS + trim) / 20))
    audio = np.stack(channels)
    audio *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(audio))
    noise = rng.standard_normal(audio.shape) * 10 ** (NOISE_DBFS / 20)
    audio = (audio + noise).astype(np.float32)

    licence = SOUNDFONT_LICENCES.get(sf2.name, f"unknown: check the licence of {sf2.name}")
    sections = []
    for sec in arr.sections:
        end = (sec.first_bar + sec.bars) * arr.bar_s
        sections.append(
            {
                "name": sec.name,
                "start_s": round(sec.first_bar * arr.bar_s, 3),
                "end_s": round(seconds if sec is arr.sections[-1] else end, 3),
            }
        )
    chords = [ROMAN[d] for d in arr.progression]
    meta = SongMeta(
        sample_rate=SAMPLE_RATE,
        channels=[ChannelInfo(p.name, p.instrument, p.role) for p in PARTS],
        seed=seed,
        bleed_matrix_db=bleed,
        sources=[
            {"part": p.name, "soundfont": sf2.name, "program": p.program, "licence": licence}
            for p in PARTS
        ],
        extra={
            "title": f"AiLive demo groove (seed {seed})",
            "generator": "python -m models.demo.make_song",
            "tempo_bpm": round(arr.tempo, 2),
            "key": f"{KEY_NAMES[arr.key_root]} major",
            "progression": "-".join(chords),
            "sections": sections,
            "trims_db": dict(zip([p.name for p in PARTS], trims, strict=True)),
            "target_levels_db": {p.name: p.mix_db for p in PARTS},
            "target_solo_boost_db": {"part": "Guitar", "section": "break", "db": SOLO_BOOST_DB},
            "di_channels": [p.name for p in PARTS if p.source is None],
            "bleed_floor_db": NO_BLEED_DB,
            "room": {
                "dim_m": list(ROOM_DIM),
                "rt60_s": ROOM_RT60_S,
                "ism_max_order": ROOM_MAX_ORDER,
                "mics": "cardioid close mics",
                "mic_distance_m": {
                    p.name: round(float(np.linalg.norm(p.mic_offset)), 3)
                    for p in PARTS
                    if p.source is not None
                },
            },
            "noise_dbfs": NOISE_DBFS,
        },
    )
    return Song(meta=meta, audio=audio, target_mix=target_mix(dry, arr))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.demo.make_song", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="song folder to write")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="song length")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="arrangement/mix seed")
    parser.add_argument(
        "--soundfont",
        type=Path,
        default=None,
        help=f"GM soundfont (default: ${SOUNDFONT_ENV} or the system {SOUNDFONT_NAME})",
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        song = make_song(args.seed, args.seconds, args.soundfont)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = save_song(song, args.out)
    size = sum(f.stat().st_size for f in out.rglob("*.flac"))
    print(
        f"wrote {out}: {len(song.names)} channels, {song.seconds:.1f} s, "
        f"{size / 1e6:.2f} MB of FLAC, {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
