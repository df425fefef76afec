"""The sound pools: every soundfont and drum kit the data engine plays, each in one fixed pool.

The training pool makes the train/validation/test songs; the held-out pool makes the
held-out-sounds split, so that split measures how the models do on instruments and kits they
never heard. No file, kit or sample set is in both (tested), and kits recorded from the same
drums stay together. models/data/README.md ("Sound pools") has the table and the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.data.render import SOUNDFONT_DIRS

HYDROGEN_DIRS = (
    Path("/usr/share/hydrogen/data/drumkits"),
    Path("/usr/local/share/hydrogen/data/drumkits"),
)
ELECTRONIC_STYLES = ("pop", "funk", "reggae")
"""Styles whose songs may draw an electronic kit (drum machines)."""
SAMPLE_DIRS = (Path("/usr/share"), Path("/usr/local/share"))
SAMPLED_PART_PROBABILITY = 0.5
"""With a sample set in the pool: the share of the parts it covers that it plays."""
SETUP_HINT = "scripts/setup.sh data"


def _gm_map(kick: str, stick: str, snare: str, hat: str, pedal: str, open_hat: str,
            crash: str, ride: str) -> dict[int, str]:  # fmt: skip
    return {36: kick, 37: stick, 38: snare, 42: hat, 44: pedal, 46: open_hat, 49: crash, 51: ride}


@dataclass(frozen=True)
class SoundSource:
    """One recorded sound set: a GM soundfont, a drum-kit soundfont, or a Hydrogen kit."""

    key: str
    """Unique name, recorded per part in song.json (`sources[].source`)."""
    kind: str
    """soundfont: GM melodic programs (+ its bank-128 GM kits); sf2-kit: one drum kit preset
    (bank 0, program 0, GM note map); hydrogen-kit: a Hydrogen kit folder; sample-kit: loose
    drum samples (`layers`); sample-set: single recorded notes per instrument class
    (`samples`), played by models/data/sampler.py."""
    file: str
    """File name (soundfonts) or folder name (kits, sample folders under /usr/share)."""
    package: str
    licence: str
    note_map: Mapping[int, str] = field(default_factory=dict)
    """hydrogen-kit: the kit instrument that plays each GM drum note."""
    electronic: bool = False
    """A drum machine: drawn only for ELECTRONIC_STYLES."""
    layers: Mapping[int, tuple[tuple[str, float, float], ...]] = field(default_factory=dict)
    """sample-kit: per GM drum note, (file, low, high velocity 0..1) layers."""
    samples: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    """sample-set: per instrument class (band.INSTRUMENTS), (file, root MIDI pitch) notes."""

    @property
    def is_drum_kit(self) -> bool:
        return self.kind in ("sf2-kit", "hydrogen-kit", "sample-kit")

    def locate(self) -> Path | None:
        dirs = {"hydrogen-kit": HYDROGEN_DIRS, "sample-kit": SAMPLE_DIRS,
                "sample-set": SAMPLE_DIRS}.get(self.kind, SOUNDFONT_DIRS)  # fmt: skip
        for d in dirs:
            if (d / self.file).exists():
                return d / self.file
        return None


def _h2(name: str, package: str, licence: str, note_map: dict[int, str],
        electronic: bool = False) -> SoundSource:  # fmt: skip
    return SoundSource(f"hydrogen:{name}", "hydrogen-kit", name, package, licence, note_map,
                       electronic)  # fmt: skip


FLUIDR3 = SoundSource("sf:FluidR3_GM", "soundfont", "FluidR3_GM.sf2", "fluid-soundfont-gm",
                      "MIT (FluidR3_GM, Frank Wen)")  # fmt: skip
MUSESCORE = SoundSource(
    "sf:MuseScore_General_Lite", "soundfont", "MuseScore_General_Lite.sf3",
    "musescore-general-soundfont-small", "MIT, parts PD/CC0 (MuseScore_General, S. C. Collins)",
)  # fmt: skip
TIMGM = SoundSource("sf:TimGM6mb", "soundfont", "TimGM6mb.sf2", "timgm6mb-soundfont",
                    "GPL-2.0 (TimGM6mb, Tim Brechbill)")  # fmt: skip
AVL_BLACK_PEARL = SoundSource(
    "sf2kit:Black_Pearl_4_LV2", "sf2-kit", "Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont",
    "CC-BY-SA-3.0 (AVL Drumkits, Glen MacArthur)",
)  # fmt: skip
AVL_RED_ZEPPELIN = SoundSource(
    "sf2kit:Red_Zeppelin_4_LV2", "sf2-kit", "Red_Zeppelin_4_LV2.sf2", "avldrums.lv2-soundfont",
    "CC-BY-SA-3.0 (AVL Drumkits, Glen MacArthur)",
)  # fmt: skip
GPL_GLEN = "GPL-2.0 (Glen MacArthur)"
GPL_ARTEMIO = "GPL-2.0+ (Artemiy Pavlov)"
GPL_MILLO = "GPL-2.0 (Emiliano Grilli)"

TRAIN_POOL: tuple[SoundSource, ...] = (
    FLUIDR3,
    MUSESCORE,
    AVL_BLACK_PEARL,
    _h2("GMRockKit", "hydrogen-data", GPL_GLEN, _gm_map(
        "Kick", "Stick", "Snare", "Hat Closed", "Hat Pedal", "Hat Open", "Crash", "Ride")),
    _h2("The Black Pearl 1.0", "hydrogen-drumkits", GPL_GLEN, _gm_map(
        "Pearl Kick", "Pearl Side Stick", "Pearl Snare", "Sabian Hat Closed", "Sabian Hat Pedal",
        "Sabian Hat Open", "Sabian Crash", "Paiste Ride")),
    _h2("BJA_Pacific", "hydrogen-drumkits", "CC-BY-SA-3.0-US (Luc Tunguay)", _gm_map(
        "BassDrum", "Snare Dry", "Snare", "Hi Hat Closed", "Hi Hat Free", "Hi Hat Opened",
        "Crash Left", "Ride")),
    _h2("Millo_MultiLayered2", "hydrogen-drumkits", GPL_MILLO, _gm_map(
        "Kick", "Stick", "Snare Rock", "Closed HH", "Pedal HH", "Open HH", "Crash", "Ride Rock")),
    _h2("ColomboAcousticDrumkit", "hydrogen-drumkits", "GPL-2.0+ (Marcos Guglielmetti)", _gm_map(
        "BassDrum", "Stick", "Snare Rock", "Closed HH", "Pedal HH", "Open HH", "crash16inch",
        "ride-crash20inch")),
    _h2("TR808EmulationKit", "hydrogen-data", "GPL-2.0 (Artemiy Pavlov)", _gm_map(
        "Kick Short", "Clave", "Snare 1", "Closed Hat", "Pedal Hat", "Open Hat", "Cymbal",
        "Cymbal"), electronic=True),
    _h2("ElectricEmpireKit", "hydrogen-drumkits", GPL_ARTEMIO, _gm_map(
        "Kick Power", "Click", "Snare 1", "Hat Closed Bs", "Hat Low", "Hat Op Dirty",
        "Hat Op Phaser", "Hat Ring 1"), electronic=True),
)  # fmt: skip
"""FluidR3 and MuseScore_General (a derivative of FluidR3 Mono) stay together here."""

SONIC_PI_KIT = SoundSource(
    "samples:sonic-pi-drums",
    "sample-kit",
    "sonic-pi/samples",
    "sonic-pi-samples",
    "CC0 (menegass, freesound.org; Sonic Pi samples)",
    layers={
        36: (("drum_bass_soft.flac", 0.0, 0.6), ("drum_bass_hard.flac", 0.6, 1.0)),
        37: (("drum_snare_soft.flac", 0.0, 1.0),),
        38: (("drum_snare_soft.flac", 0.0, 0.6), ("drum_snare_hard.flac", 0.6, 1.0)),
        42: (("drum_cymbal_closed.flac", 0.0, 1.0),),
        44: (("drum_cymbal_pedal.flac", 0.0, 1.0),),
        46: (("drum_cymbal_open.flac", 0.0, 1.0),),
        49: (("drum_cymbal_soft.flac", 0.0, 0.7), ("drum_cymbal_hard.flac", 0.7, 1.0)),
        51: (("drum_cymbal_soft.flac", 0.0, 1.0),),
    },
)
_I = "instruments/"
LMMS_SAMPLES = SoundSource(
    "samples:lmms-instruments", "sample-set", "lmms/samples", "lmms-common",
    "GPL-2.0+ (LMMS developers)",
    samples={
        "piano": ((_I + "piano02.ogg", 48.01), (_I + "piano01.ogg", 60.01)),
        "organ": ((_I + "church_organ04.ogg", 44.96), (_I + "church_organ03.ogg", 56.98),
                  (_I + "e_organ01.ogg", 59.9), (_I + "church_organ02.ogg", 69.02),
                  (_I + "church_organ01.ogg", 81.02)),
        "acoustic guitar": ((_I + "steel_guitar01.ogg", 54.89),),
        "electric guitar": ((_I + "steel_guitar_slight_distorted01.ogg", 54.89),),
        "distorted guitar": ((_I + "steel_guitar_heavy_distorted01.ogg", 54.89),
                             (_I + "steel_guitar_medium_distorted01.ogg", 54.89)),
        "electric bass": ((_I + "bassslap02.ogg", 36.0),),
        "strings": (("stringsnpads/strings01.ogg", 60.0),),
        "synth pad": (("stringsnpads/juno_pad01.ogg", 72.1),),
        "trumpet": ((_I + "trumpet01.ogg", 68.94),),
        "flute": ((_I + "flute01.ogg", 80.95),),
        "violin": ((_I + "violin_fingered01.ogg", 78.86),),
        "voice": (("stringsnpads/chorus02.ogg", 56.98), ("stringsnpads/chorus01.ogg", 71.92)),
    },
)  # fmt: skip
"""Roots measured from each sample's harmonic spectrum (steady over the sample)."""

HELDOUT_POOL: tuple[SoundSource, ...] = (
    TIMGM,
    LMMS_SAMPLES,
    SONIC_PI_KIT,
    AVL_RED_ZEPPELIN,
    _h2("ForzeeStereo", "hydrogen-drumkits", "GPL-2.0 (V. Sadovnikov, A. Belokurov)", _gm_map(
        'Kick (Tama Superstar 22")', "Rim Click (Pearl Free Floating Maple 14x3.5)",
        "Snare (Pearl Free Floating Maple 14x3.5)", 'Hi-Hat Closed (Paiste Alpha Metal edge 14")',
        'Hi-Hat Pedal (Paiste Alpha Metal edge 14")', 'Hi-Hat Open (Paiste Alpha Metal edge 14")',
        'Crash (Paiste Rude Thin 18")', 'Ride Bow (Custom, Zagrebin 22")')),
    _h2("Millo_MultiLayered3", "hydrogen-drumkits", GPL_MILLO, _gm_map(
        "Kick", "Stick", "Snare Rock", "Closed HH", "Pedal HH", "Open HH", "Crash", "Ride Jazz")),
    _h2("rumpf_kit_z01_h2", "hydrogen-drumkits", "CC-BY-3.0 (Emanuel Rumpf)", _gm_map(
        "c3 - bass drum 1", "c#3 - stick", "d3 - snare 1", "f#3 - hi-hat closed",
        "g#3 - hi-hat pedal", "a#3 - hi-hat open", "c#4 - crash", "d#4 - cymbal 1")),
    _h2("Audiophob", "hydrogen-drumkits", "CC0 (audiophobdubstep)", _gm_map(
        "Kick", "Stick", "Snare Rock", "Closed HH", "Pedal HH", "Open HH", "Crash", "Ride Jazz"),
        electronic=True),
    _h2("HardElectro1", "hydrogen-drumkits", GPL_ARTEMIO, _gm_map(
        "Kick 1", "Clap 1", "Snare", "Closed HH 2", "Closed HH 4", "Open HH", "Side OHH",
        "Side HH"), electronic=True),
)  # fmt: skip

CSOUND_GM = SoundSource("sf:sf_GMbank", "soundfont", "sf_GMbank.sf2", "csound-soundfont",
                        "public domain (Csound's sf_GMbank.sf2, its licence field)")  # fmt: skip
WIDE_EXTRA: tuple[SoundSource, ...] = (
    CSOUND_GM,
    _h2("VariBreaks", "hydrogen-drumkits", "GPL (Sineshine)", _gm_map(
        "VariBreaks Kick 1", "VariBreaks Snare 3", "VariBreaks Snare 1", "VariBreaks Hat 1 Cl",
        "VariBreaks Hat 1 Pd", "VariBreaks Hat 1 Op", "VariBreaks Hat 2 Cl",
        "VariBreaks Hat 3 Cl")),
)  # fmt: skip
"""What the wide training pool adds: a GM bank of its own family (not FluidR3's, not
TimGM6mb's) and a breakbeat kit, so the training songs' melodic timbres are not one family."""
WIDE_POOL: tuple[SoundSource, ...] = TRAIN_POOL + WIDE_EXTRA
"""The training pool widened (`--pool wide`). A pool of its own, not a change of `train`, so
`data/train` (seed 2026) stays the songs the shipped models and the results tables used."""

POOLS: dict[str, tuple[SoundSource, ...]] = {
    "train": TRAIN_POOL,
    "wide": WIDE_POOL,
    "heldout": HELDOUT_POOL,
}
TRAINING_POOLS = ("train", "wide")
"""Pools whose songs may be trained on: none shares a sound with the held-out pool."""


def member_files(member: SoundSource, path: Path) -> list[Path]:
    """Every file a located member can play (soundfont, mapped kit layers, listed samples)."""
    if member.kind in ("soundfont", "sf2-kit"):
        return [path]
    if member.kind == "sample-kit":
        return sorted({path / f for ls in member.layers.values() for f, _, _ in ls})
    if member.kind == "sample-set":
        return sorted({path / f for ns in member.samples.values() for f, _ in ns})
    from models.data.kits import read_kit

    kit = read_kit(path)
    return sorted({path / ly.file for name in member.note_map.values()
                   for ly in kit[name].layers})  # fmt: skip


def pool_sources(pool: str, only: tuple[str, ...] | None = None) -> tuple[SoundSource, ...]:
    """The members of a pool (`only`: a subset by key, e.g. for small tests)."""
    if pool not in POOLS:
        raise ValueError(f"unknown sound pool {pool!r}; choose from {', '.join(POOLS)}")
    members = POOLS[pool]
    if only is not None:
        unknown = [k for k in only if k not in {m.key for m in members}]
        if unknown:
            raise ValueError(f"{unknown[0]} is not in the {pool} sound pool")
        members = tuple(m for m in members if m.key in only)
    if not any(m.kind == "soundfont" for m in members):
        raise ValueError(f"the {pool} sound pool selection has no melodic soundfont")
    return members


def check_pool(members: tuple[SoundSource, ...], pool: str = "") -> dict[str, Path]:
    """Every member's path, or one FileNotFoundError line naming the missing packages."""
    found = {m.key: m.locate() for m in members}
    missing = sorted({m.package for m in members if found[m.key] is None})
    if missing:
        raise FileNotFoundError(
            f"the {pool + ' ' if pool else ''}sound pool needs the Debian package(s) "
            f"{' '.join(missing)}: run {SETUP_HINT} (or apt-get install {' '.join(missing)})"
        )
    return {k: p for k, p in found.items() if p is not None}


@dataclass(frozen=True)
class SoundChoice:
    """What one song plays: the melodic soundfont, the drum kit (None: the soundfont's), and
    the parts a sample set plays instead of the soundfont."""

    melodic: SoundSource
    drums: SoundSource | None
    sampled: Mapping[str, SoundSource] = field(default_factory=dict)
    """Part name -> the sample set that plays it."""


def draw_sounds(
    members: tuple[SoundSource, ...],
    style: str,
    rng: np.random.Generator,
    parts: Sequence[tuple[str, str, int]] = (),
) -> SoundChoice:
    """Per song: one melodic soundfont, one kit among the kits and the soundfonts' GM kits,
    and which parts (name, instrument class, MIDI instruments) a sample set plays: each part
    of a class it has, with SAMPLED_PART_PROBABILITY, if the part is one instrument."""
    fonts = [m for m in members if m.kind == "soundfont"]
    melodic = fonts[int(rng.integers(len(fonts)))]
    kits: list[SoundSource | None] = [None]
    kits += [m for m in members if m.is_drum_kit and (not m.electronic or style in
                                                      ELECTRONIC_STYLES)]  # fmt: skip
    drums = kits[int(rng.integers(len(kits)))]
    sampled: dict[str, SoundSource] = {}
    sets = [m for m in members if m.kind == "sample-set"]
    for name, instrument, n_midi in parts:
        covering = [m for m in sets if instrument in m.samples]
        if covering and n_midi == 1 and rng.random() < SAMPLED_PART_PROBABILITY:
            sampled[name] = covering[int(rng.integers(len(covering)))]
    return SoundChoice(melodic, drums, sampled)
