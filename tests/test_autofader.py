"""The loudness-equalising auto-fader baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import freqz

from models.baselines.autofader import LoudnessAutoFader, k_weighting
from models.gainsource import InputAudioError
from tests.conftest import tone_song

HOP = 2400


def run(fader: LoudnessAutoFader, audio: np.ndarray) -> np.ndarray:
    fader.reset(audio.shape[0], 48_000)
    gains = []
    for start in range(0, audio.shape[1] - HOP + 1, HOP):
        gains.append(fader.step(audio[:, start : start + HOP]))
    return np.array(gains)


def test_k_weighting_matches_the_standard_shape() -> None:
    b, a = k_weighting(48_000)
    _, h = freqz(b, a, [20.0, 1000.0, 10_000.0], fs=48_000)
    db = 20 * np.log10(np.abs(h))
    # BS.1770 at 48 kHz: about -13.3 dB at 20 Hz, +0.7 dB at 1 kHz, +4.0 dB at 10 kHz.
    assert db == pytest.approx([-13.3, 0.7, 4.0], abs=0.1)


def test_equalises_channels_at_different_levels() -> None:
    song = tone_song([-12.0, -30.0, -24.0], seconds=12.0)
    gains = run(LoudnessAutoFader(), song.audio)
    final = gains[-1]
    # The quiet channel comes up, the loud one goes down, by about their level differences.
    assert final[1] - final[0] == pytest.approx(18.0, abs=1.5)
    assert final[2] - final[0] == pytest.approx(12.0, abs=1.5)
    # The common target is the mean: the overall level stays where it was.
    assert abs(final.mean()) < 1.0


def test_gains_move_smoothly() -> None:
    song = tone_song([-12.0, -30.0], seconds=8.0)
    gains = run(LoudnessAutoFader(smoothing_s=1.5), song.audio)
    assert np.max(np.abs(np.diff(gains, axis=0))) < 1.0  # under 1 dB per 50 ms


def test_silent_channel_holds_its_gain_and_stays_finite() -> None:
    song = tone_song([-18.0, -20.0], seconds=6.0)
    audio = song.audio.copy()
    audio[1] = 0.0
    gains = run(LoudnessAutoFader(), audio)
    assert np.isfinite(gains).all()
    assert np.all(gains[:, 1] == 0.0)


def test_rejects_nan_and_channel_mismatch() -> None:
    fader = LoudnessAutoFader()
    fader.reset(2, 48_000)
    with pytest.raises(InputAudioError, match="NaN"):
        fader.step(np.full((2, HOP), np.nan, dtype=np.float32))
    with pytest.raises(InputAudioError, match="channel-count mismatch"):
        fader.step(np.zeros((3, HOP), dtype=np.float32))


def test_a_channel_carrying_only_bleed_is_not_pushed_up() -> None:
    # Channel 2 is 40 dB under the others (a vocal mic between lines): it holds 0 dB.
    song = tone_song([-14.0, -16.0, -56.0], seconds=6.0)
    gains = run(LoudnessAutoFader(), song.audio)
    assert np.all(gains[:, 2] == 0.0)
    assert gains[-1, 1] > gains[-1, 0]
