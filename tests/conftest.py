"""Shared fixtures: small synthetic songs written in the real song format."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.song import ChannelInfo, Song, SongMeta, save_song

RATE = 48_000


def tone_song(levels_db: list[float], seconds: float = 4.0, seed: int = 0) -> Song:
    """Channels of band-limited noise at the given RMS levels (dBFS), plus light bleed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    rows = []
    for level in levels_db:
        x = rng.standard_normal(n).astype(np.float32)
        x *= 10 ** (level / 20) / np.sqrt(np.mean(x**2))
        rows.append(x)
    audio = np.stack(rows)
    bleed = 0.05 * audio.mean(axis=0, keepdims=True)
    audio = (audio + bleed).astype(np.float32)
    meta = SongMeta(
        sample_rate=RATE,
        channels=[ChannelInfo(name=f"Ch{i + 1}") for i in range(len(levels_db))],
        seed=seed,
    )
    return Song(meta=meta, audio=audio, target_mix=audio.sum(axis=0))


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The runner's ONNX exports (models.runtime) go to this session's own cache, not ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that sets up logging (as the CLI does) leaves no handler on a stream pytest closes."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def song_dir(tmp_path: Path) -> Path:
    return save_song(tone_song([-20.0, -30.0, -26.0, -14.0]), tmp_path / "song")
