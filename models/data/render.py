"""Render MIDI parts to 48 kHz mono audio with FluidSynth and a General MIDI soundfont.

In-process with pyfluidsynth when it is installed (no files, ~100-200x real time per part),
else through the fluidsynth program (a MIDI file and a WAV per part, ~50x real time).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SAMPLE_RATE = 48_000
SYNTH_GAIN = 0.5
SOUNDFONT_NAME = "FluidR3_GM.sf2"
SOUNDFONT_ENV = "AILIVE_SOUNDFONT"
# Where Linux distributions install General MIDI soundfonts (Debian: fluid-soundfont-gm).
SOUNDFONT_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
    Path("/usr/share/sounds/sf3"),
)
SOUNDFONT_LICENCES = {
    "FluidR3_GM.sf2": "MIT (FluidR3_GM)",
    "TimGM6mb.sf2": "GPL-2.0 (TimGM6mb)",
    "MuseScore_General_Lite.sf3": "MIT, parts PD/CC0 (MuseScore_General)",
}
SOUNDFONT_PACKAGES = {
    "FluidR3_GM.sf2": "fluid-soundfont-gm",
    "TimGM6mb.sf2": "timgm6mb-soundfont",
    "MuseScore_General_Lite.sf3": "musescore-general-soundfont-small",
}


def find_soundfont(explicit: str | Path | None = None, name: str = SOUNDFONT_NAME) -> Path:
    """The soundfont to render with: explicit path, $AILIVE_SOUNDFONT, or the system's `name`."""
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
        path = folder / name
        if path.is_file():
            return path
    package = SOUNDFONT_PACKAGES.get(name, "a General MIDI soundfont")
    raise FileNotFoundError(
        f"{name} not found in {', '.join(str(d) for d in SOUNDFONT_DIRS)}: install it "
        f"(Debian/Ubuntu: apt-get install {package}) or pass --soundfont PATH "
        f"(or set ${SOUNDFONT_ENV})"
    )


def soundfont_licence(path: Path) -> str:
    return SOUNDFONT_LICENCES.get(path.name, f"unknown: check the licence of {path.name}")


def find_fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise FileNotFoundError(
            "the fluidsynth program is not on PATH: install it "
            "(Debian/Ubuntu: apt-get install fluidsynth; macOS: brew install fluid-synth)"
        )
    return exe


def _check(out: np.ndarray, stem: str, soundfont: Path) -> np.ndarray:
    if not np.any(np.abs(out) > 1e-4):
        raise RuntimeError(f"{stem} rendered silent: does {soundfont.name} have the GM programs?")
    return out


# ---------------------------------------------------------------------------------------------
# In-process (pyfluidsynth)


MAX_GROUPS = 128
"""FluidSynth's limit on separate output groups: the MIDI channels of one song."""


class FluidRenderer:
    """Renders the parts of a song in-process, in one pass, each MIDI channel to its own output.

    Every song gets a fresh FluidSynth instance (its voices keep state from earlier notes, so a
    reused synth would make a song's audio depend on what was rendered before). Each part's
    instruments play on their own MIDI channels, routed to their own output group
    (`synth.audio-groups`), so the parts come out separately from one pass. A keeper synth holds
    the soundfont, so FluidSynth's sample cache makes loading it again cheap.
    """

    def __init__(
        self, soundfont: Path, sample_rate: int = SAMPLE_RATE, extra: Sequence[Path] = ()
    ) -> None:
        import fluidsynth

        self._fs = fluidsynth
        self.soundfont = soundfont
        self.fonts = (soundfont, *extra)
        """Font 0 plays the melodic parts; the others can play drums (`drum_preset`)."""
        self.sample_rate = sample_rate
        self._keeper, _ = self._new_synth(1)
        c = ctypes
        self._process = fluidsynth.cfunc(
            "fluid_synth_process", c.c_int,
            ("synth", c.c_void_p, 1), ("len", c.c_int, 1), ("nfx", c.c_int, 1),
            ("fx", c.c_void_p, 1), ("nout", c.c_int, 1), ("out", c.c_void_p, 1),
        )  # fmt: skip

    def _new_synth(self, groups: int) -> tuple[Any, list[int]]:
        settings = {
            "synth.reverb.active": 0,
            "synth.chorus.active": 0,
            "synth.audio-channels": groups,
            "synth.audio-groups": groups,
            "synth.polyphony": 1024,
        }
        synth = self._fs.Synth(gain=SYNTH_GAIN, samplerate=float(self.sample_rate), **settings)
        sfids = []
        for font in self.fonts:
            sfid = synth.sfload(str(font))
            if sfid < 0:
                raise RuntimeError(f"FluidSynth could not load the soundfont {font}")
            sfids.append(sfid)
        return synth, sfids

    def render(self, instruments: Sequence[Any], n_samples: int, stem: str = "part") -> np.ndarray:
        """pretty_midi Instruments (notes, pitch bends) -> mono float32 (n_samples,)."""
        return self.render_many({stem: instruments}, n_samples)[stem]

    def render_many(
        self,
        parts: Mapping[str, Sequence[Any]],
        n_samples: int,
        drum_preset: tuple[int, int, int] | None = None,
        detune_cents: Mapping[str, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """Every part (name -> pretty_midi Instruments) -> mono float32 (n_samples,).

        drum_preset: (font index, bank, program) that plays the drum instruments (default:
        font 0's GM kit, bank 128). detune_cents: per part, MIDI fine tuning (+-100 cents).
        """
        owners = [name for name, insts in parts.items() for _ in insts]
        if len(owners) > MAX_GROUPS:
            raise ValueError(f"{len(owners)} MIDI instruments; FluidSynth renders {MAX_GROUPS}")
        synth, sfids = self._new_synth(len(owners))
        tuning = [float((detune_cents or {}).get(name, 0.0)) for name in owners]
        try:
            out = self._render(
                synth, sfids, [i for insts in parts.values() for i in insts], n_samples,
                drum_preset, tuning,
            )  # fmt: skip
        finally:
            synth.delete()
        mono = {name: np.zeros(n_samples, dtype=np.float32) for name in parts}
        for chan, name in enumerate(owners):
            mono[name] += 0.5 * (out[2 * chan] + out[2 * chan + 1])
        return {name: _check(x, name, self.soundfont) for name, x in mono.items()}

    def _render(
        self,
        synth: Any,
        sfids: list[int],
        instruments: Sequence[Any],
        n_samples: int,
        drum_preset: tuple[int, int, int] | None = None,
        tuning: Sequence[float] = (),
    ) -> np.ndarray:
        """(2 x channels, n_samples): the left and right output of each MIDI channel."""
        events: list[tuple[int, int, int, int, int]] = []  # (sample, kind, chan, a, b)
        for chan, inst in enumerate(instruments):
            sfid, bank, program = sfids[0], 128 if inst.is_drum else 0, int(inst.program)
            if inst.is_drum and drum_preset is not None:
                sfid, bank, program = sfids[drum_preset[0]], drum_preset[1], drum_preset[2]
            if synth.program_select(chan, sfid, bank, program) != 0:
                # A small soundfont may lack the preset: fall back to the first of its bank.
                synth.program_select(chan, sfid, bank, 0)
            cents = tuning[chan] if chan < len(tuning) else 0.0
            if cents:
                # RPN 1 (channel fine tuning): 8192 is 0, +-8192 is +-100 cents.
                value = int(np.clip(round(8192 + cents / 100 * 8192), 0, 16383))
                for cc, v in ((101, 0), (100, 1), (6, value >> 7), (38, value & 127)):
                    synth.cc(chan, cc, v)
            for n in inst.notes:
                events.append((round(n.start * self.sample_rate), 1, chan, n.pitch, n.velocity))
                events.append((round(n.end * self.sample_rate), 0, chan, n.pitch, 0))
            for pb in inst.pitch_bends:
                events.append((round(pb.time * self.sample_rate), 2, chan, int(pb.pitch), -1))
        events.sort()
        n_out = 2 * len(instruments)
        out = np.zeros((n_out, n_samples), dtype=np.float32)
        base = out.ctypes.data + 4 * n_samples * np.arange(n_out, dtype=np.int64)  # row starts
        pointers = ctypes.c_void_p * n_out
        pos = 0
        for when, kind, chan, a, b in [*events, (n_samples, -1, 0, 0, 0)]:
            when = min(max(when, 0), n_samples)
            if when > pos:
                # fluid_synth_process adds into the buffers: they start zeroed.
                rows = pointers(*(base + 4 * pos).tolist())
                self._process(synth.synth, when - pos, 0, None, n_out, rows)
                pos = when
            if kind == 1:
                synth.noteon(chan, a, b)
            elif kind == 0:
                synth.noteoff(chan, a)
            elif kind == 2:
                synth.pitch_bend(chan, a)
        return out


_RENDERERS: dict[tuple[tuple[str, ...], int], FluidRenderer] = {}


def in_process_available() -> bool:
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def renderer(
    soundfont: Path, sample_rate: int = SAMPLE_RATE, extra: Sequence[Path] = ()
) -> FluidRenderer:
    """A cached in-process renderer (the soundfonts are loaded once per process)."""
    key = (tuple(str(p) for p in (soundfont, *extra)), sample_rate)
    if key not in _RENDERERS:
        _RENDERERS[key] = FluidRenderer(soundfont, sample_rate, extra)
    return _RENDERERS[key]


# ---------------------------------------------------------------------------------------------
# The fluidsynth program


def render_part_cli(
    instruments: Sequence[Any],
    tempo: float,
    soundfont: Path,
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
        find_fluidsynth(), "-ni", "-q", "-R", "0", "-C", "0", "-r", str(SAMPLE_RATE),
        "-g", str(SYNTH_GAIN), "-O", "float", "-T", "wav", "-F", str(wav_path),
        str(soundfont), str(mid_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not wav_path.exists():
        raise RuntimeError(f"fluidsynth failed on {stem} ({proc.returncode}): {proc.stderr[-500:]}")
    data, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz for {stem}, expected {SAMPLE_RATE}")
    mono = data.mean(axis=1)
    out = np.zeros(n_samples, dtype=np.float32)
    out[: min(n_samples, len(mono))] = mono[:n_samples]
    return _check(out, stem, soundfont)


def render_parts(
    parts: Mapping[str, Sequence[Any]],
    tempo: float,
    soundfont: Path,
    n_samples: int,
    backend: str = "auto",
) -> dict[str, np.ndarray]:
    """Render every part (name -> pretty_midi Instruments) to mono float32 (n_samples,).

    backend: "inprocess" (pyfluidsynth), "cli" (the fluidsynth program) or "auto" (in-process
    when pyfluidsynth and libfluidsynth are installed).
    """
    if backend not in ("auto", "inprocess", "cli"):
        raise ValueError(f"unknown render backend {backend!r}")
    if backend == "inprocess" or (backend == "auto" and in_process_available()):
        return renderer(soundfont).render_many(parts, n_samples)
    find_fluidsynth()
    with tempfile.TemporaryDirectory(prefix="ailive_render_") as tmp:
        return {
            name: render_part_cli(insts, tempo, soundfont, Path(tmp), f"{i:02d}", n_samples)
            for i, (name, insts) in enumerate(parts.items())
        }
