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
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.data.acoustics import active_rms, autocorrelations, image_energies
from models.data.arrangement import (
    NoteWriter,
    Section,
    Timeline,
    lead_phrase,
    plan_sections,
    section_at,
    solo_bar,
)
from models.data.render import (
    SAMPLE_RATE,
    SOUNDFONT_ENV,
    SOUNDFONT_NAME,
    find_soundfont,
    render_parts,
    soundfont_licence,
)
from models.data.stage import (
    NO_BLEED_DB,
    StagePlan,
    bleed_matrix,
    channel_images,
    room_indices,
    room_rirs,
)
from models.data.theory import KEY_NAMES, MAJOR, PENTATONIC, ROMAN, nearest, voice_chord
from models.song import ChannelInfo, Song, SongMeta, save_song

DEFAULT_SECONDS = 24.0
MIN_SECONDS = 12.0
"""Shorter songs would need a tempo above 120 bpm to fit one bar per section."""
DEFAULT_SEED = 7
DEFAULT_OUT = Path(__file__).parent / "song"
TAIL_S = 0.6
"""Time after the last bar for the final chord to ring out."""
FADE_S = 0.25
PEAK_DBFS = -3.0
"""Peak of the loudest channel after normalisation."""
MIX_PEAK_DBFS = -1.0
NOISE_DBFS = -80.0
"""RMS of the mic / preamp self-noise added to every channel."""
TRIM_RANGE_DB = 6.0
SOLO_BOOST_DB = 4.0
NOMINAL_DBFS = -20.0
"""Active RMS of each channel's own source before the random input trims."""

ROOM_DIM = (8.0, 6.0, 3.5)
ROOM_RT60_S = 0.5
ROOM_MAX_ORDER = 10

PROGRESSIONS: tuple[tuple[int, int, int, int], ...] = (
    (0, 4, 5, 3),  # I  V  vi IV
    (5, 3, 0, 4),  # vi IV I  V
    (0, 5, 3, 4),  # I  vi IV V
    (0, 3, 5, 4),  # I  IV vi V
)

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


@dataclass(kw_only=True)
class Arrangement(Timeline):
    """The written song: tempo, harmony, sections and MIDI instruments per part."""

    key_root: int
    progression: tuple[int, int, int, int]
    sections: list[Section]
    parts: dict[str, list[Any]] = field(default_factory=dict)
    """Part name -> list of pretty_midi.Instrument."""

    def section_at(self, bar: int) -> Section:
        return section_at(self.sections, bar)

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
    for name, bars, dyn in plan_sections(SECTION_PLAN, n_bars):
        sections.append(Section(name, bar, bars, dyn))
        bar += bars
    arr = Arrangement(
        tempo=tempo, seconds=seconds, key_root=key_root, progression=progression, sections=sections
    )

    def writer(program: int, name: str, is_drum: bool = False) -> NoteWriter:
        return NoteWriter(pm, arr, rng, program, is_drum, name)

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
        root = nearest(pcs[0], 33, 44, 38)
        keys_prev = voice_chord(pcs, 55, 74, keys_prev)
        organ_prev = voice_chord(pcs, 52, 70, organ_prev)
        gtr_prev = voice_chord(pcs, 57, 76, gtr_prev)
        left = nearest(pcs[0], 43, 54, 48)
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
            approach = nearest(nxt[0], root - 5, root + 7, root) - 1
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
            solo_bar(arr, rng, solo, penta, b, pcs, last=(b == sec.first_bar + sec.bars - 1))

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
                start = nearest(
                    arr.chord_pcs(b)[int(rng.integers(3))], low + 3, high - 5, (low + high) / 2
                )
                phrase = lead_phrase(arr, rng, scale, b, low, high, start)
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
    arr: Arrangement,
    rng: np.random.Generator,
    kick: NoteWriter,
    snare: NoteWriter,
    hats: NoteWriter,
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


# ---------------------------------------------------------------------------------------------
# Stage, bleed and mix


def demo_stage() -> StagePlan:
    """The demo's fixed stage in the data engine's terms (stage_db as the pre-bleed trims)."""
    return StagePlan(
        room_m=list(ROOM_DIM),
        rt60_s=ROOM_RT60_S,
        ism_order=ROOM_MAX_ORDER,
        sources_m=[None if p.source is None else list(p.source) for p in PARTS],
        mics_m=[
            None if p.source is None else np.add(p.source, p.mic_offset).tolist() for p in PARTS
        ],
        di=[p.source is None for p in PARTS],
        pre_trims_db=[p.stage_db for p in PARTS],
        post_trims_db=[0.0] * len(PARTS),
        noise_dbfs=[NOISE_DBFS] * len(PARTS),
    )


def stage_images(dry: dict[str, np.ndarray]) -> tuple[np.ndarray, list[list[float]]]:
    """Each source's image in each channel, (channels, sources, n), and the bleed matrix."""
    plan = demo_stage()
    sources = np.stack([dry[p.name] / active_rms(dry[p.name]) for p in PARTS]).astype(np.float32)
    rirs = room_rirs(plan, SAMPLE_RATE)
    _, on_stage = room_indices(plan)
    acf = autocorrelations(sources[on_stage], rirs.shape[2])
    energies = image_energies(acf, rirs.astype(np.float64))
    bleed = [[round(v, 1) for v in row] for row in bleed_matrix(plan, energies, len(PARTS))]
    return channel_images(sources, plan, rirs), bleed


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
    dry = render_parts(arr.parts, arr.tempo, sf2, n, backend="cli")
    images, bleed = stage_images(dry)

    rng = np.random.default_rng([seed, 1])
    trims = [round(float(v), 1) for v in rng.uniform(-TRIM_RANGE_DB, TRIM_RANGE_DB, len(PARTS))]
    fade = int(FADE_S * SAMPLE_RATE)
    channels = []
    for m, trim in enumerate(trims):
        signal = images[m].sum(axis=0, dtype=np.float64) / active_rms(images[m, m])
        channels.append(_fade_out(np.asarray(signal), fade) * 10 ** ((NOMINAL_DBFS + trim) / 20))
    audio = np.stack(channels)
    audio *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(audio))
    noise = rng.standard_normal(audio.shape) * 10 ** (NOISE_DBFS / 20)
    audio = (audio + noise).astype(np.float32)

    licence = soundfont_licence(sf2)
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
