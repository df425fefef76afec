"""Shows the test paces, and waits on conditions: nothing here races the clock.

A paced show plays through a `SteppedSource` that loops, so it never ends before the test is done
with it, and it has no deadline, so a busy machine cannot hold a hop's gains. Its hops come only
when the test asks (`hops_after`, `run_until`). Waits poll a condition and fail only after a
generous limit (`LIMIT_S`), which a passing test never comes near.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import numpy as np
from textual.pilot import Pilot

from bridge.engine import HopSnapshot
from bridge.show import Show
from bridge.sources import AudioSource, SteppedSource
from models.gainsource import GainSource, make_gain_source
from models.song import ChannelInfo, Song, SongMeta

SR = 48_000
LIMIT_S = 60.0
"""How long a wait may take before the test fails: far beyond any busy machine's delay."""


def moving_song(n_channels: int, seconds: float) -> Song:
    """Noise 3 dB apart per channel, slowly modulated, so the autofader keeps moving faders."""
    rng = np.random.default_rng(1)
    samples = int(SR * seconds)
    t = np.arange(samples) / SR
    levels = 0.3 * 10 ** (-3.0 * np.arange(n_channels)[:, None] / 20)
    swell = 1.0 + 0.5 * np.sin(2 * np.pi * 0.7 * t + np.arange(n_channels)[:, None])
    audio = (rng.standard_normal((n_channels, samples)) * levels * swell).astype(np.float32)
    names = [ChannelInfo(name=f"Ch{i}") for i in range(n_channels)]
    meta = SongMeta(sample_rate=SR, channels=names)
    return Song(meta, audio=audio)


def paced_show(
    n_channels: int = 8,
    seconds: float = 3.0,
    gain_source: GainSource | None = None,
    source: AudioSource | None = None,
    **kw: object,
) -> Show:
    """A show of `moving_song` (looping, stepped by the test) through the autofader (or
    `gain_source`), with no deadline. `kw` go to Show (sinks, names)."""
    src = source or SteppedSource(moving_song(n_channels, seconds), loop=True)
    show = Show(src, gain_source or make_gain_source("autofader"), **kw)  # type: ignore[arg-type]
    show.engine.deadline_s = math.inf
    return show


def wait_until(predicate: Callable[[], bool], timeout: float = LIMIT_S) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` passes (False); for `assert`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def wait_for(cond: Callable[[], bool], what: str = "", limit_s: float = LIMIT_S) -> None:
    """Block (off any event loop) until `cond()` holds; fail after `limit_s`."""
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {limit_s} s for {what or cond}")
        time.sleep(0.005)


async def until(pilot: Pilot[None], cond: Callable[[], bool], limit_s: float = LIMIT_S) -> None:
    """Let the app run until `cond()` holds (nothing steps the show); fail after `limit_s`.

    It yields with asyncio.sleep, not `pilot.pause`, which reads `app.screen` and so raises
    once the app has closed its screens (a wait for the app's own end)."""
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {limit_s} s for {cond}")
        await asyncio.sleep(0.02)


def latest(show: Show) -> HopSnapshot:
    snap = show.engine.latest
    assert snap is not None
    return snap


def _index(show: Show) -> int:
    snap = show.engine.latest
    return -1 if snap is None else snap.index


async def hops_after(pilot: Pilot[None], show: Show, index: int, count: int) -> HopSnapshot:
    """Let the show run to hop `index + count` (stepping it when it is stepped) and return that
    hop's snapshot."""
    target = index + count
    if isinstance(show.source, SteppedSource):
        show.source.step_to(target)
    await until(pilot, lambda: _index(show) >= target)
    return latest(show)


async def run_until(pilot: Pilot[None], show: Show, cond: Callable[[], bool]) -> None:
    """Step the show one hop at a time, letting the app catch up after each, until `cond()`
    holds; fail after `LIMIT_S`."""
    deadline = time.monotonic() + LIMIT_S
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {LIMIT_S} s for {cond}")
        await hops_after(pilot, show, _index(show), 1)
        await asyncio.sleep(0.02)


def quit_and_join(show: Show) -> None:
    """After the app is gone: the engine thread has ended (or ends now that it was told)."""
    show.stop()
    wait_for(show.done.is_set, "the engine thread to end")
