"""A MedleyDB-layout song written in a test: four RAW tracks whose stems make the MIX, and one
RAW track (the bass) polarity-inverted and late against its stem, as real MedleyDB tracks are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

MEDLEY_RATE = 44_100
BASS_DELAY = 206
"""Samples (at 44.1 kHz) the inverted bass RAW track lags its stem (one real MedleyDB bass)."""
STEM_GAINS = (0.5, 0.9, 0.25, 1.0)


def _tracks(seconds: float, seed: int) -> list[np.ndarray]:
    """kick, bass, guitar, voice: spectrally distinct stand-ins with rests, at 44.1 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * MEDLEY_RATE)
    t = np.arange(n) / MEDLEY_RATE
    beat = int(0.5 * MEDLEY_RATE)
    kick = np.zeros(n)
    env = np.exp(-np.arange(beat) / (0.06 * MEDLEY_RATE))
    for start in range(0, n - beat, beat):
        kick[start : start + beat] += env * np.sin(2 * np.pi * 55 * np.arange(beat) / MEDLEY_RATE)
    notes = rng.choice([41.2, 49.0, 55.0, 61.7, 73.4], size=n // beat + 1)
    f0 = np.repeat(notes, beat)[:n]
    phase = 2 * np.pi * np.cumsum(f0) / MEDLEY_RATE
    bass = sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.05 * rng.standard_normal(n)
    bass *= np.repeat(rng.random(n // beat + 1) < 0.85, beat)[:n]
    noise = rng.standard_normal(n)
    spec = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / MEDLEY_RATE)
    spec[(freqs < 800) | (freqs > 4000)] = 0
    guitar = np.fft.irfft(spec, n) * np.repeat(rng.random(n // beat + 1) < 0.7, beat)[:n]
    vib = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    vphase = 2 * np.pi * np.cumsum(vib) / MEDLEY_RATE
    voice = sum(np.sin(k * vphase) / k**1.5 for k in range(1, 12))
    voice *= np.repeat(rng.random(n // (2 * beat) + 1) < 0.75, 2 * beat)[:n]
    out = []
    for x in (kick, bass, guitar, voice):
        out.append((0.1 * x / np.sqrt(np.mean(x**2))).astype(np.float32))
    return out


def write_medleydb(root: Path, name: str = "Band_Song", seconds: float = 6.0) -> Path:
    """<root>/<name>/ in MedleyDB layout; the bass RAW track is inverted and BASS_DELAY late."""
    import yaml

    folder = root / name
    raw_dir, stem_dir = folder / f"{name}_RAW", folder / f"{name}_STEMS"
    raw_dir.mkdir(parents=True)
    stem_dir.mkdir()
    labels = ["kick drum", "electric bass", "clean electric guitar", "female singer"]
    stems = {}
    mix = np.zeros(int(seconds * MEDLEY_RATE))
    for i, (label, x, g) in enumerate(
        zip(labels, _tracks(seconds, seed=3), STEM_GAINS, strict=True), start=1
    ):
        raw = x
        if label == "electric bass":
            raw = -np.concatenate([np.zeros(BASS_DELAY, np.float32), x[:-BASS_DELAY]])
        fname = f"{name}_RAW_{i:02d}_01.wav"
        sf.write(raw_dir / fname, raw, MEDLEY_RATE, subtype="FLOAT")
        sf.write(stem_dir / f"{name}_STEM_{i:02d}.wav", g * x, MEDLEY_RATE, subtype="FLOAT")
        mix += g * x
        stems[f"S{i:02d}"] = {
            "filename": f"{name}_STEM_{i:02d}.wav",
            "instrument": label,
            "raw": {"R01": {"filename": fname, "instrument": label}},
        }
    sf.write(folder / f"{name}_MIX.wav", np.stack([mix, mix], axis=1), MEDLEY_RATE,
             subtype="FLOAT")  # fmt: skip
    meta = {
        "artist": "Band", "title": "Song", "genre": "Rock", "has_bleed": "no",
        "mix_filename": f"{name}_MIX.wav", "raw_dir": f"{name}_RAW", "stem_dir": f"{name}_STEMS",
        "stems": stems,
    }  # fmt: skip
    (folder / f"{name}_METADATA.yaml").write_text(yaml.safe_dump(meta))
    return folder
