"""Gain-sharing automixer: each channel's gain is its share of the total power."""

from __future__ import annotations

import numpy as np
import pytest

from models.baselines.gainsharing import GainSharingAutomixer
from models.gainsource import GAIN_SOURCES, GainSource, InputAudioError, make_gain_source

RATE = 48_000
HOP = 2400


def run(mixer: GainSharingAutomixer, levels_db: list[float], hops: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    mixer.reset(len(levels_db), RATE)
    gains = np.zeros(len(levels_db))
    for _ in range(hops):
        x = rng.standard_normal((len(levels_db), HOP))
        x /= np.sqrt(np.mean(x**2, axis=1, keepdims=True))
        gains = mixer.step((x * 10 ** (np.array(levels_db)[:, None] / 20)).astype(np.float32))
    return gains


def test_equal_channels_share_equally() -> None:
    gains = run(GainSharingAutomixer(), [-20.0] * 4)
    assert np.allclose(gains, -10 * np.log10(4), atol=0.05)


def test_the_loudest_channel_takes_the_share() -> None:
    gains = run(GainSharingAutomixer(), [-10.0, -30.0])
    assert gains[0] == pytest.approx(-10 * np.log10(1.01), abs=0.05)
    assert gains[1] == pytest.approx(-20 - 10 * np.log10(1.01), abs=0.05)
    # The shares always add up to one open channel.
    assert np.sum(10 ** (gains / 10)) == pytest.approx(1.0, abs=1e-3)


def test_floor_weights_and_silence_hold() -> None:
    gains = run(GainSharingAutomixer(floor_db=-12.0), [-10.0, -60.0])
    assert gains[1] == pytest.approx(-12.0)
    weighted = run(GainSharingAutomixer(weights_db=np.array([0.0, 6.0])), [-20.0, -20.0])
    assert weighted[1] - weighted[0] == pytest.approx(6.0, abs=0.05)
    mixer = GainSharingAutomixer()
    run(mixer, [-10.0, -30.0])
    held = mixer.step(np.zeros((2, HOP), np.float32))
    for _ in range(40):
        gains = mixer.step(np.zeros((2, HOP), np.float32))
    assert np.allclose(gains, held, atol=1e-6)  # in silence the gains hold where they were
    assert gains[1] < -15


def test_registered_and_rejects_bad_audio() -> None:
    assert "gainsharing" in GAIN_SOURCES
    source = make_gain_source("gainsharing")
    assert isinstance(source, GainSource) and source.name == "gainsharing"
    source.reset(2, RATE)
    bad = np.zeros((2, HOP), np.float32)
    bad[0, 3] = np.inf
    with pytest.raises(InputAudioError, match="NaN or Inf"):
        source.step(bad)
