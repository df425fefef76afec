"""A plain sampler: melodic parts played from single recorded notes (LMMS's instrument samples).

Each note plays the recorded sample whose root is nearest, resampled to the note's pitch (as a
hardware sampler does, so the timbre shifts with the distance), scaled by the velocity and
cut with a short release at the note's end. Pitch bends are not followed. Roots are fixed in
the pool table (models/data/pools.py), measured once from each sample's spectrum.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.data.kits import load_sample

RELEASE_S = 0.08
VELOCITY_CURVE = 1.6
"""Amplitude = (velocity / 127) ** this (-13 dB at velocity 50)."""


def render_sampled(
    instruments: Sequence[Any],
    samples: Sequence[tuple[str, float]],
    folder: Path,
    n_samples: int,
    sample_rate: int,
    detune_cents: float = 0.0,
) -> np.ndarray:
    """pretty_midi Instruments -> mono float32 (n_samples,), from (file, root pitch) samples."""
    out = np.zeros(n_samples, dtype=np.float32)
    roots = np.array([r for _, r in samples])
    release = max(1, round(RELEASE_S * sample_rate))
    for inst in instruments:
        for note in inst.notes:
            k = int(np.argmin(np.abs(roots - note.pitch)))
            x = load_sample(folder / samples[k][0], sample_rate)
            ratio = 2.0 ** ((note.pitch - roots[k]) / 12 + detune_cents / 1200)
            start = round(note.start * sample_rate)
            hold = max(1, round((note.end - note.start) * sample_rate))
            length = min(hold + release, int((len(x) - 1) / ratio), n_samples - start)
            if length <= 0:
                continue
            seg = np.interp(np.arange(length) * ratio, np.arange(len(x)), x).astype(np.float32)
            if length > hold:
                seg[hold:] *= np.linspace(1.0, 0.0, length - hold, dtype=np.float32)
            else:
                tail = seg[-min(release, length) :]
                tail *= np.linspace(1.0, 0.0, len(tail), dtype=np.float32)
            gain = (min(max(note.velocity, 1), 127) / 127) ** VELOCITY_CURVE
            out[start : start + length] += np.float32(gain) * seg
    return out
