"""Snapshot tests (pytest-textual-snapshot) of the mixer at 8 and 32 channels and the profiles
screen with a validation error. Deterministic: the engine does not run; fixed hop snapshots go
through the engine's listener path (history + coalesced messages), as live hops do.

Regenerate after an intended change: `pytest tests/test_tui_snapshots.py --snapshot-update`,
then look at the SVGs in tests/__snapshots__/test_tui_snapshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from textual.pilot import Pilot

from bridge.engine import HopSnapshot
from bridge.tui import MixerApp, make_app
from tests.paced import until
from tests.test_tui import make_show

SnapCompare = Callable[..., bool]

STATES = ("auto", "auto", "locked", "auto", "human", "manual", "auto", "protected")


def hop(n: int, index: int) -> HopSnapshot:
    """A fixed hop: levels falling across the channels, a gentle ride over time."""
    ch = np.arange(n)
    ride = 2.0 * np.sin(0.15 * index + 0.4 * ch)
    return HopSnapshot(
        index=index,
        t=(index + 1) * 0.05,
        peak_db=-4.0 - 1.5 * ch,
        rms_db=-16.0 - 1.5 * ch,
        model_db=-6.0 + 0.25 * ch + ride,
        sent_db=-5.0 + 0.25 * ch + ride,
        compute_ms=0.42,
        misses=0,
        faults=0,
        last_fault="",
        mode="auto",
        states=[STATES[i % len(STATES)] for i in range(n)],
    )


def mixer_app(n: int, tmp_path: Path) -> MixerApp:
    return make_app(make_show(n, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=tmp_path)


def feed(app: MixerApp, hops: int = 60) -> Callable[[Pilot[Any]], Any]:
    n = len(app.show.names)

    async def run_before(pilot: Pilot[Any]) -> None:
        on_hop = app.show.engine.on_hop
        assert on_hop is not None
        for k in range(hops):
            on_hop(hop(n, k))
        # The last hop drawn, and every held readout (peak, RMS, compute) showing it.
        await until(
            pilot,
            lambda: (
                app.mixer.snapshot is not None
                and app.mixer.snapshot.index == hops - 1
                and app.mixer.readouts_settled
            ),
        )
        await pilot.pause()

    return run_before


def test_mixer_8_channels(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = mixer_app(8, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed(app))


def test_mixer_32_channels(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = mixer_app(32, tmp_path)
    # Select channel 13: the strips scroll to keep it in view.
    assert snap_compare(app, terminal_size=(80, 24), run_before=feed(app), press=["l"] * 12)


def test_profiles_screen_with_a_validation_error(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # paths show as ~/..., the same on every machine
    user = tmp_path / ".config" / "ailive" / "mappings"
    user.mkdir(parents=True)
    (user / "band.toml").write_text(
        'output = "xair"\ndescription = "Sunday band"\n'
        '[[channels]]\ncapture = 1\nname = "Kick"\nfloor_db = -30.0\n'
        '[[channels]]\ncapture = 2\nname = "Talkback"\nprotected = true\n'
    )
    (user / "broken.toml").write_text('output = "x32"\nport = "ten"\nchannels = "1-8"\n')
    app = make_app(make_show(8, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=user)
    # Open the profiles, take band, move to row 0's ceiling and set it under the floor.
    keys = ["p", "tab", "right", "right", "right", "right", "e", "minus", "5", "0", "enter"]
    assert snap_compare(app, terminal_size=(80, 24), press=keys)


def test_profiles_screen_with_a_bad_file(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    user = tmp_path / ".config" / "ailive" / "mappings"
    user.mkdir(parents=True)
    (user / "band.toml").write_text('output = "xair"\nchannels = "1-4"\n')
    (user / "broken.toml").write_text('output = "x32"\nport = "ten"\nchannels = "1-8"\n')
    app = make_app(make_show(8, seconds=0.2), run_engine=False, profile_dirs=[], user_dir=user)
    assert snap_compare(app, terminal_size=(80, 24), press=["p", "down"])
