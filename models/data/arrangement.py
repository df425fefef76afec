"""Shared building blocks of generated arrangements: timing, sections, note writing, melodies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from models.data.theory import nearest


@dataclass
class Section:
    name: str
    first_bar: int
    bars: int
    dynamics: float
    """Velocity multiplier of the section (0-1)."""


@dataclass
class Timeline:
    """Tempo and length of a 4/4 song; `swing` delays the off-beat eighths (1/3: triplet feel)."""

    tempo: float
    seconds: float
    swing: float = 0.0

    @property
    def sixteenth_s(self) -> float:
        return 15.0 / self.tempo

    @property
    def bar_s(self) -> float:
        return 16 * self.sixteenth_s

    def time(self, bar: int, pos16: float) -> float:
        """Seconds at a sixteenth position of a bar (fractional positions allowed)."""
        if self.swing:
            beat, frac = divmod(pos16, 4.0)
            split = 2.0 * (1.0 + self.swing)
            frac = frac * split / 2.0 if frac < 2.0 else split + (frac - 2.0) * (4.0 - split) / 2.0
            pos16 = beat * 4.0 + frac
        return (bar * 16 + pos16) * self.sixteenth_s


class HasChords(Protocol):
    @property
    def sixteenth_s(self) -> float: ...

    def chord_pcs(self, bar: int) -> Sequence[int]: ...


def plan_sections(
    plan: Sequence[tuple[str, float, float]], n_bars: int
) -> list[tuple[str, int, float]]:
    """Share n_bars among (name, weight, dynamics) sections, at least one bar each."""
    weights = np.array([w for _, w, _ in plan], dtype=float)
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
    return [(name, int(b), dyn) for (name, _, dyn), b in zip(plan, bars, strict=True)]


def sections_from_plan(plan: Sequence[tuple[str, float, float]], n_bars: int) -> list[Section]:
    """Sections covering n_bars; with fewer bars than sections the least important are dropped."""
    priority = ("verse", "chorus", "solo", "outro", "intro", "bridge")
    keep = list(plan)
    while len(keep) > n_bars:
        drop = max(
            range(len(keep)),
            key=lambda i: (priority.index(keep[i][0]) if keep[i][0] in priority else 99, i),
        )
        keep.pop(drop)
    sections: list[Section] = []
    bar = 0
    for name, bars, dyn in plan_sections(keep, n_bars):
        sections.append(Section(name, bar, bars, dyn))
        bar += bars
    return sections


def section_at(sections: Sequence[Section], bar: int) -> Section:
    for sec in sections:
        if sec.first_bar <= bar < sec.first_bar + sec.bars:
            return sec
    return sections[-1]


class NoteWriter:
    """Collects notes for one pretty_midi instrument with humanised timing and velocity."""

    def __init__(
        self,
        pm: Any,
        timeline: Timeline,
        rng: np.random.Generator,
        program: int,
        is_drum: bool,
        name: str,
        jitter_s: float = 0.004,
    ) -> None:
        self.inst = pm.Instrument(program=program, is_drum=is_drum, name=name)
        self.pm = pm
        self.arr = timeline
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


def lead_phrase(
    arr: HasChords,
    rng: np.random.Generator,
    scale: list[int],
    bar: int,
    low: int,
    high: int,
    start: int,
) -> list[tuple[int, int, int]]:
    """A 2-bar melodic phrase (pos16, dur16, pitch): chord tones on the beats, steps between."""
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


def solo_bar(
    arr: HasChords,
    rng: np.random.Generator,
    solo: NoteWriter,
    penta: list[int],
    bar: int,
    pcs: Sequence[int],
    last: bool,
    bends: bool = True,
) -> None:
    """One bar of a pentatonic solo, with some bends up a whole tone into long notes."""
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
            target = nearest(pcs[0], penta[0], penta[-1], penta[idx])
            solo.note(bar, 12, 4, target, 108, dur_s=arr.sixteenth_s * 4.5)
            break
        cell = cells[int(rng.choice(len(cells), p=weights / weights.sum()))]
        for pos, dur in cell:
            idx = int(np.clip(idx + int(rng.choice([-2, -1, -1, 1, 1, 2])), 0, len(penta) - 1))
            pitch = penta[idx]
            start16 = beat * 4 + pos
            if bends and dur >= 3 and rng.random() < 0.6:
                n = solo.note(bar, start16, dur, pitch - 2, 110)
                solo.inst.pitch_bends.extend(
                    solo.pm.PitchBend(int(8191 * f), n.start + 0.02 + 0.08 * f)
                    for f in (0.25, 0.6, 1.0)
                )
                solo.inst.pitch_bends.append(solo.pm.PitchBend(0, n.end + 0.005))
            else:
                solo.note(bar, start16, dur, pitch, 100 + 8 * (pos == 0))
