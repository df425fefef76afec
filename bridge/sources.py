"""Audio sources that feed the engine one 50 ms hop at a time: files (virtual soundcheck)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from models.song import Song


class SourceError(RuntimeError):
    """Capture failed or stopped (device lost, stream error)."""


class AudioSource(Protocol):
    """Where hops come from. `hops()` yields (channels, hop_samples) float32 arrays."""

    names: list[str]
    sample_rate: int
    hop_time: float | None
    """perf_counter() when the last sample of the latest hop was captured (None: not live)."""

    @property
    def n_channels(self) -> int: ...

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]: ...

    def stats(self) -> dict[str, int]:
        """Counters shown in the TUI: overflows, underflows, dropped blocks."""
        ...

    def close(self) -> None: ...


class FileSource:
    """Plays a multitrack song as if a console were capturing it.

    realtime=True paces hops on the wall clock (a "virtual soundcheck"); False runs as fast as
    the engine can go (`ailive render`). `seconds` stops early; `start_s` skips in.
    """

    def __init__(
        self,
        song: Song,
        *,
        realtime: bool = True,
        seconds: float | None = None,
        start_s: float = 0.0,
        loop: bool = False,
    ) -> None:
        self.song = song
        self.names = song.names
        self.sample_rate = song.sample_rate
        self.realtime = realtime
        self.loop = loop
        start = int(start_s * self.sample_rate)
        if not 0 <= start < song.audio.shape[1]:
            raise ValueError(f"start {start_s} s is outside the song ({song.seconds:.1f} s)")
        self._start = start
        self._limit = None if seconds is None else int(seconds * self.sample_rate)
        self._late = 0
        self.hop_time: float | None = None

    @property
    def n_channels(self) -> int:
        return int(self.song.audio.shape[0])

    def stats(self) -> dict[str, int]:
        return {"late_hops": self._late}

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        audio = self.song.audio
        total = audio.shape[1]
        pos = self._start
        played = 0
        hop_s = hop_samples / self.sample_rate
        t0 = time.perf_counter()
        k = 0
        while self._limit is None or played + hop_samples <= self._limit:
            if pos + hop_samples > total:
                if not self.loop:
                    return
                pos = 0
            if self.realtime:
                # A hop is available once its last sample would have been captured.
                due = t0 + (k + 1) * hop_s
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -hop_s:
                    self._late += 1
                self.hop_time = due
            yield audio[:, pos : pos + hop_samples]
            pos += hop_samples
            played += hop_samples
            k += 1

    def close(self) -> None:
        pass


class SteppedSource:
    """Plays a song one hop per permit: `step(n)` lets n more hops through and the engine waits
    for each, so whoever steps it (a test, a rehearsal by hand) paces the show, not the clock.

    `loop=True` never ends on its own. `wake()` (called by `Engine.stop`) or `close()` ends the
    hops at once, even while the engine is waiting for a step.
    """

    def __init__(self, song: Song, *, loop: bool = False) -> None:
        self.song = song
        self.names = song.names
        self.sample_rate = song.sample_rate
        self.loop = loop
        self.hop_time: float | None = None
        self.given = 0
        """Hops let through so far: hop index `given - 1` is the last one the engine may get."""
        self._taken = 0
        self._woken = False
        self._cond = threading.Condition()

    @property
    def n_channels(self) -> int:
        return int(self.song.audio.shape[0])

    def stats(self) -> dict[str, int]:
        return {}

    def step(self, n: int = 1) -> int:
        """Let `n` more hops through; returns the index of the last one."""
        with self._cond:
            self.given += n
            self._cond.notify_all()
            return self.given - 1

    def step_to(self, index: int) -> None:
        """Let hops through up to hop `index` (nothing if that many were let through already)."""
        with self._cond:
            if index + 1 > self.given:
                self.step(index + 1 - self.given)

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        audio = self.song.audio
        pos = 0
        while True:
            if pos + hop_samples > audio.shape[1]:
                if not self.loop or hop_samples > audio.shape[1]:
                    return
                pos = 0
            with self._cond:
                self._cond.wait_for(lambda: self._woken or self._taken < self.given)
                if self._woken:
                    return
                self._taken += 1
            yield audio[:, pos : pos + hop_samples]
            pos += hop_samples

    def close(self) -> None:
        self.wake()
