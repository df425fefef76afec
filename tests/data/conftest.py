"""Fixtures of the data-engine tests: a small soundfont, a short generated song, noise sources."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.data.render import find_soundfont, in_process_available

RATE = 48_000


def small_soundfont() -> Path | None:
    """TimGM6mb (6 MB, Debian timgm6mb-soundfont): fast to load, good enough for tests."""
    try:
        return find_soundfont(name="TimGM6mb.sf2")
    except FileNotFoundError:
        return None


def can_render() -> bool:
    if small_soundfont() is None:
        return False
    if any(importlib.util.find_spec(m) is None for m in ("pretty_midi", "pyroomacoustics")):
        return False
    return in_process_available() or shutil.which("fluidsynth") is not None


needs_render = pytest.mark.skipif(
    not can_render(), reason="needs TimGM6mb (timgm6mb-soundfont), FluidSynth and the data extras"
)
needs_room = pytest.mark.skipif(
    importlib.util.find_spec("pyroomacoustics") is None, reason="needs pyroomacoustics"
)


@pytest.fixture(scope="session")
def soundfont() -> Path:
    sf2 = small_soundfont()
    if sf2 is None:
        pytest.skip("needs TimGM6mb (Debian: apt-get install timgm6mb-soundfont)")
    return sf2


def noise_sources(n_sources: int, seconds: float, seed: int = 0) -> np.ndarray:
    """(S, n) band-limited noise bursts with rests: stand-ins for instruments."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = rng.standard_normal((n_sources, n)).astype(np.float32)
    kernel = np.hanning(9).astype(np.float32)
    x = np.stack([np.convolve(row, kernel / kernel.sum(), mode="same") for row in x])
    gate = np.repeat(rng.random((n_sources, n // 4800 + 1)) < 0.8, 4800, axis=1)[:, :n]
    x *= gate
    x *= 0.05 / np.sqrt(np.mean(x**2, axis=1, keepdims=True))
    return x.astype(np.float32)


@pytest.fixture(scope="session")
def synth(soundfont: Path) -> tuple[object, dict[str, float]]:
    """One generated 6 s song (SongData, timings), made once for the whole session."""
    if not can_render():
        pytest.skip("needs FluidSynth and the data extras")
    from models.data.synth import SynthConfig, synth_song

    return synth_song(11, SynthConfig(seconds=6.0, style="rock", soundfont=soundfont))


@pytest.fixture(scope="session")
def song_folder(
    synth: tuple[object, dict[str, float]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from models.data.store import SongData, write_song_data

    data = synth[0]
    assert isinstance(data, SongData)
    return write_song_data(data, tmp_path_factory.mktemp("song") / "song", images=True)


def assert_target_level(channels: np.ndarray, target: np.ndarray) -> None:
    """Targets sit at the RMS of the channels' unity sum, unless that would peak over -1 dBFS."""

    def level(x: np.ndarray) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))

    peak = float(20 * np.log10(np.max(np.abs(target))))
    assert peak <= -1.0 + 0.01
    assert peak == pytest.approx(-1.0, abs=0.01) or level(target) == pytest.approx(
        level(channels.sum(axis=0)), abs=0.05
    )
