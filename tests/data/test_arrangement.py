"""Band arrangements: deterministic by seed, distinct styles, sections, dynamics and roles."""

from __future__ import annotations

import importlib.util
import itertools
from typing import Any

import numpy as np
import pytest

from models.data.styles import KICK, STYLES
from models.data.theory import parse_chord, parse_progression, voice_chord

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pretty_midi") is None, reason="needs pretty_midi (data extras)"
)


def _notes(arr: Any) -> list[tuple[str, int, int, float, float, int]]:
    return [
        (part.name, inst.program, n.pitch, round(n.start, 6), round(n.end, 6), n.velocity)
        for part in arr.parts
        for inst in part.midi
        for n in inst.notes
    ]


def test_same_seed_same_arrangement_and_other_seeds_differ() -> None:
    from models.data.band import compose_band

    a, b = compose_band(4, 20.0, "pop"), compose_band(4, 20.0, "pop")
    assert _notes(a) == _notes(b)
    assert (a.tempo, a.key, a.progressions) == (b.tempo, b.key, b.progressions)
    c = compose_band(5, 20.0, "pop")
    assert _notes(c) != _notes(a)


def test_seed_alone_picks_the_style_deterministically() -> None:
    from models.data.band import compose_band

    styles = {compose_band(seed, 10.0).style for seed in range(12)}
    assert len(styles) >= 4
    assert compose_band(3, 10.0).style == compose_band(3, 10.0).style


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_writes_a_full_band(style: str) -> None:
    from models.data.band import compose_band

    arr = compose_band(1, 24.0, style)
    st = STYLES[style]
    assert st.tempo[0] - 15 <= arr.tempo <= st.tempo[1] + 15
    roles = [p.role for p in arr.parts]
    assert {"kick", "snare", "drums", "bass", "lead"} <= set(roles)
    assert len(roles) >= 6
    names = [p.name for p in arr.parts]
    assert len(set(names)) == len(names)
    for part in arr.parts:
        assert sum(len(i.notes) for i in part.midi) > 0, part.name
        assert all(0 <= n.start < arr.seconds for i in part.midi for n in i.notes)
    assert arr.soloist in names
    section_names = [s.name for s in arr.sections]
    assert {"verse", "solo"} <= set(section_names)
    assert arr.sections[0].first_bar == 0
    assert sum(s.bars for s in arr.sections) == arr.n_bars


def _kick_signature(arr: Any) -> tuple[float, ...]:
    kick = next(p for p in arr.parts if p.role == "kick").midi[0]
    pos = [round((n.start / arr.sixteenth_s) % 16) % 16 for n in kick.notes if n.pitch == KICK]
    hist = np.bincount(pos, minlength=16) / max(len(pos), 1)
    return tuple(np.round(hist, 1))


def test_styles_differ_in_tempo_feel_and_groove() -> None:
    from models.data.band import compose_band

    signatures = set()
    for style in STYLES:
        arr = compose_band(2, 24.0, style)
        signatures.add((round(arr.tempo, -1), arr.swing > 0, _kick_signature(arr)))
    assert len(signatures) == len(STYLES)


def test_jazz_walks_and_reggae_skanks() -> None:
    from models.data.band import compose_band

    jazz = compose_band(6, 24.0, "jazz")
    bass = next(p for p in jazz.parts if p.role == "bass").midi[0]
    lengths = np.array([n.end - n.start for n in bass.notes[:-1]])
    beat = 4 * jazz.sixteenth_s
    assert np.median(lengths) == pytest.approx(0.95 * beat, rel=0.15), "walking quarter notes"
    reggae = compose_band(6, 24.0, "reggae")
    for part in reggae.parts:
        if part.role == "rhythm":
            onsets = [(n.start / reggae.sixteenth_s) % 4 for n in part.midi[0].notes]
            offbeat = np.mean([1.5 <= o <= 2.8 for o in onsets])
            assert offbeat > 0.6, "the skank plays on the off-beats"


def test_chorus_is_louder_than_the_verse() -> None:
    from models.data.band import compose_band

    arr = compose_band(8, 30.0, "rock")
    kick = next(p for p in arr.parts if p.role == "kick").midi[0]
    by_section: dict[str, list[int]] = {}
    for n in kick.notes:
        bar = int(n.start / arr.bar_s + 1e-6)
        sec = next(s for s in arr.sections if s.first_bar <= bar < s.first_bar + s.bars)
        by_section.setdefault(sec.name, []).append(n.velocity)
    assert np.mean(by_section["chorus"]) > np.mean(by_section["verse"]) + 5


def test_sections_in_time_cover_the_song() -> None:
    from models.data.band import compose_band

    arr = compose_band(9, 20.0, "funk")
    times = arr.section_times()
    assert times[0]["start_s"] == 0.0
    assert times[-1]["end_s"] == pytest.approx(20.0)
    for a, b in itertools.pairwise(times):
        assert a["end_s"] == pytest.approx(b["start_s"], abs=1e-3)


def test_chord_symbols_and_voicings() -> None:
    assert parse_chord("vi", 0).pcs == (9, 0, 4)
    assert parse_chord("bVII", 0).pcs == (10, 2, 5)
    assert parse_chord("ii7", 2).pcs == (4, 7, 11, 2)
    assert parse_chord("V7", 0).pcs == (7, 11, 2, 5)
    assert parse_chord("Imaj7", 0).pcs == (0, 4, 7, 11)
    assert [c.root for c in parse_progression("I-V-vi-IV", 7)] == [7, 2, 4, 0]
    with pytest.raises(ValueError, match="roman"):
        parse_chord("H7", 0)
    v = voice_chord((0, 4, 7), 55, 72, None)
    assert all(55 <= p <= 72 for p in v)
    assert sorted(p % 12 for p in v) == [0, 4, 7]
    nxt = voice_chord((5, 9, 0), 55, 72, v)
    assert sum(abs(a - b) for a, b in zip(nxt, v, strict=True)) <= 5, "voice leading"
