"""Rendering: every part non-silent at 48 kHz mono, deterministic, both FluidSynth backends."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.data.render import SAMPLE_RATE, find_soundfont, in_process_available, render_parts
from tests.data.conftest import needs_render

pytestmark = needs_render


def _parts(seconds: float, style: str) -> tuple[dict[str, list[object]], float]:
    from models.data.band import compose_band

    arr = compose_band(2, seconds, style)
    return {p.name: p.midi for p in arr.parts}, arr.tempo


@pytest.mark.parametrize("style", ["rock", "jazz"])
def test_every_part_renders_non_silent_at_48k(soundfont: Path, style: str) -> None:
    parts, tempo = _parts(6.0, style)
    n = 6 * SAMPLE_RATE
    audio = render_parts(parts, tempo, soundfont, n)
    assert list(audio) == list(parts)
    for name, x in audio.items():
        assert x.shape == (n,) and x.dtype == np.float32, name
        assert np.all(np.isfinite(x))
        rms_db = 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
        assert rms_db > -60.0, f"{name} is nearly silent ({rms_db:.1f} dBFS)"
        assert np.max(np.abs(x)) < 1.0


def test_rendering_is_deterministic(soundfont: Path) -> None:
    parts, tempo = _parts(4.0, "funk")
    a = render_parts(parts, tempo, soundfont, 4 * SAMPLE_RATE)
    b = render_parts(parts, tempo, soundfont, 4 * SAMPLE_RATE)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not in_process_available(),
    reason="needs both the fluidsynth program and pyfluidsynth",
)
def test_program_and_in_process_backends_agree_on_level(soundfont: Path) -> None:
    from models.data.band import compose_band

    arr = compose_band(3, 4.0, "pop")
    bass = next(p for p in arr.parts if p.role == "bass")
    n = 4 * SAMPLE_RATE
    fast = render_parts({"bass": bass.midi}, arr.tempo, soundfont, n, "inprocess")["bass"]
    cli = render_parts({"bass": bass.midi}, arr.tempo, soundfont, n, "cli")["bass"]

    def level(x: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))

    assert level(fast) == pytest.approx(level(cli), abs=1.0)


def test_missing_soundfont_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.data.render as render

    monkeypatch.delenv("AILIVE_SOUNDFONT", raising=False)
    with pytest.raises(FileNotFoundError, match=re.escape("no_such.sf2")):
        find_soundfont(tmp_path / "no_such.sf2")
    monkeypatch.setattr(render, "SOUNDFONT_DIRS", (tmp_path,))
    with pytest.raises(FileNotFoundError, match="apt-get install fluid-soundfont-gm"):
        render.find_soundfont()
    with pytest.raises(FileNotFoundError, match="apt-get install timgm6mb-soundfont"):
        render.find_soundfont(name="TimGM6mb.sf2")
