"""Real multi-sampled drum kits (Hydrogen drumkit folders): parse, and play GM drum parts on them.

A Hydrogen kit is a folder with `drumkit.xml` and its samples (FLAC, WAV, AIFF). Each
instrument has velocity layers (a sample per velocity range, 0..1); a hit picks the layer of
its velocity and scales it by the velocity, as Hydrogen does. Which kit instrument plays each
General MIDI drum note is a fixed table per kit (`models/data/pools.py`), since kits name their
instruments freely.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.data.styles import OPEN_HAT, PEDAL_HAT

HAT_NOTES = (42, PEDAL_HAT)
"""A closed or pedal hi-hat chokes a ringing open hi-hat (Hydrogen's hi-hat mute group)."""
CHOKE_S = 0.015
SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class Layer:
    file: str
    low: float
    high: float
    gain: float


@dataclass(frozen=True)
class KitInstrument:
    name: str
    gain: float
    layers: tuple[Layer, ...]

    def layer_for(self, velocity: float) -> Layer:
        """The layer whose velocity range (0..1) holds `velocity`, else the nearest one."""
        for layer in self.layers:
            if layer.low <= velocity <= layer.high:
                return layer
        return min(self.layers, key=lambda ly: min(abs(ly.low - velocity), abs(ly.high - velocity)))


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> str | None:
    for c in el:
        if _tag(c) == name:
            return (c.text or "").strip()
    return None


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


@functools.lru_cache(maxsize=32)
def read_kit(folder: Path) -> dict[str, KitInstrument]:
    """The instruments of a Hydrogen kit folder that have samples, by name."""
    xml = folder / "drumkit.xml"
    if not xml.is_file():
        raise FileNotFoundError(f"not a Hydrogen drum kit (no drumkit.xml): {folder}")
    root = ET.parse(xml).getroot()
    out: dict[str, KitInstrument] = {}
    for inst in root.iter():
        if _tag(inst) != "instrument":
            continue
        name = _child(inst, "name") or ""
        gain = _float(_child(inst, "volume"), 1.0) * _float(_child(inst, "gain"), 1.0)
        layers = []
        for el in inst.iter():
            if _tag(el) == "layer" and _child(el, "filename"):
                layers.append(Layer(
                    str(_child(el, "filename")), _float(_child(el, "min"), 0.0),
                    _float(_child(el, "max"), 1.0), _float(_child(el, "gain"), 1.0),
                ))  # fmt: skip
        if not layers and _child(inst, "filename"):
            layers.append(Layer(str(_child(inst, "filename")), 0.0, 1.0, 1.0))
        if layers and name:
            out[name] = KitInstrument(name, gain, tuple(sorted(layers, key=lambda ly: ly.low)))
    return out


@functools.lru_cache(maxsize=512)
def load_sample(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A sample as mono float32 at sample_rate (cached per process)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    data, sr = sf.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if sr != sample_rate:
        g = int(np.gcd(sr, sample_rate))
        mono = resample_poly(mono, sample_rate // g, sr // g).astype(np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32)


def repitch(x: np.ndarray, cents: float) -> np.ndarray:
    """Play a sample `cents` higher (shorter) or lower (longer), as a sampler does."""
    if abs(cents) < 1e-6:
        return x
    ratio = 2.0 ** (cents / 1200.0)
    pos = np.arange(0.0, len(x) - 1, ratio)
    return np.interp(pos, np.arange(len(x)), x).astype(np.float32)


def sample_kit(
    layers: Mapping[int, Sequence[tuple[str, float, float]]],
) -> dict[int, KitInstrument]:
    """A kit from loose samples: per GM note, (file, low, high velocity 0..1) layers."""
    return {
        note: KitInstrument(str(note), 1.0, tuple(Layer(f, lo, hi, 1.0) for f, lo, hi in ls))
        for note, ls in layers.items()
    }


class KitPlayer:
    """Plays pretty_midi drum parts on a Hydrogen kit (a GM-note-to-instrument table) or on
    a kit of loose samples (`instruments`)."""

    def __init__(
        self,
        folder: Path,
        note_map: Mapping[int, str] | None = None,
        sample_rate: int = SAMPLE_RATE,
        instruments: Mapping[int, KitInstrument] | None = None,
    ) -> None:
        self.folder = folder
        self.sample_rate = sample_rate
        if instruments is not None:
            self.notes = dict(instruments)
            return
        kit = read_kit(folder)
        note_map = note_map or {}
        missing = [n for n in note_map.values() if n not in kit]
        if missing:
            raise ValueError(f"drum kit {folder.name} has no instrument {missing[0]!r}")
        self.notes = {int(k): kit[v] for k, v in note_map.items()}

    def layers_used(self, notes: Sequence[tuple[int, int]]) -> set[str]:
        """Files the (pitch, velocity) hits would play: for checks and for song.json."""
        return {self.notes[p].layer_for(v / 127).file for p, v in notes if p in self.notes}

    def render(
        self, instruments: Sequence[Any], n_samples: int, detune_cents: float = 0.0
    ) -> np.ndarray:
        """Drum instruments (pretty_midi, GM drum notes) -> mono float32 (n_samples,)."""
        out = np.zeros(n_samples, dtype=np.float32)
        hits = sorted((n.start, n.pitch, n.velocity) for inst in instruments for n in inst.notes)
        closes = [round(t * self.sample_rate) for t, p, _ in hits if p in HAT_NOTES]
        fade = max(1, round(CHOKE_S * self.sample_rate))
        for start_s, pitch, velocity in hits:
            inst = self.notes.get(pitch)
            if inst is None:
                continue
            v = min(max(velocity / 127, 0.0), 1.0)
            layer = inst.layer_for(v)
            x = repitch(load_sample(self.folder / layer.file, self.sample_rate), detune_cents)
            start = round(start_s * self.sample_rate)
            if start >= n_samples:
                continue
            seg = x[: n_samples - start] * np.float32(inst.gain * layer.gain * v)
            if pitch == OPEN_HAT:
                nxt = next((c for c in closes if c > start), None)
                if nxt is not None and nxt - start < len(seg):
                    cut = nxt - start
                    seg = seg[: cut + fade].copy()
                    tail = seg[cut:]
                    tail *= np.linspace(1.0, 0.0, len(tail), dtype=np.float32)
            out[start : start + len(seg)] += seg
        return out
