"""Learn mode's recorder (`--learn`): the captured channels and, per hop, the engineer's mix.

`LearnTap` wraps the show's audio source and keeps each hop it yields; `LearnRecorder` is a show
listener that reads, after every hop, every driven fader's position on the console (the
outputs' link reports: the X32 client keeps them current from its /xremote subscription) with
the model's proposal and the channel states. Like the journal, the engine's thread only appends
to deques; a writer thread appends `channels.flac` and `learn.csv` and flushes them every
`flush_s` (the format: `models.learn.recording`).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import soundfile as sf

from bridge.appender import Appender
from bridge.engine import HopSnapshot
from bridge.journal import FLUSH_S
from bridge.sources import AudioSource
from models.learn.recording import CHANNELS, FORMAT, META, ROWS, format_row, header


class LearnTap:
    """An audio source that passes every hop through and keeps a reference to it."""

    def __init__(self, source: AudioSource) -> None:
        self.inner = source
        self.names = source.names
        self.sample_rate = source.sample_rate
        self.hops_seen: collections.deque[np.ndarray] = collections.deque()

    @property
    def hop_time(self) -> float | None:
        return self.inner.hop_time

    @hop_time.setter
    def hop_time(self, value: float | None) -> None:
        self.inner.hop_time = value

    @property
    def n_channels(self) -> int:
        return self.inner.n_channels

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        for hop in self.inner.hops(hop_samples):
            self.hops_seen.append(hop)
            yield hop

    def stats(self) -> dict[str, int]:
        return self.inner.stats()

    def close(self) -> None:
        self.inner.close()

    def wake(self) -> None:
        wake = getattr(self.inner, "wake", None)
        if wake is not None:
            wake()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # step(), song ... of the wrapped source


class LearnRecorder(Appender):
    """Writes a show's learn recording into its folder; `on_hop` is the show listener."""

    what = "learn recorder"

    def __init__(
        self,
        folder: Path,
        tap: LearnTap,
        sinks: list[Any],
        *,
        listen: bool,
        hop: int,
        flush_s: float = FLUSH_S,
        roles: list[str | None] | None = None,
    ) -> None:
        self.folder = folder
        self.tap = tap
        self.listen = listen
        self.n = tap.n_channels
        self.hop = hop
        self.flush_s = flush_s
        self._linked = [s for s in sinks if hasattr(s, "link_report")]
        self.hops = 0
        self.engineer_hops = 0
        self._rows: collections.deque[str] = collections.deque()
        self._audio: collections.deque[np.ndarray] = collections.deque()
        meta = {
            "format": FORMAT,
            "names": list(tap.names),
            "sample_rate": tap.sample_rate,
            "hop": hop,
            "listen": listen,
            "roles": roles,
        }
        (folder / META).write_text(json.dumps(meta, indent=2) + "\n")
        self._csv: TextIO = (folder / ROWS).open("w")
        self._csv.write(",".join(header(self.n)) + "\n")
        self._csv.flush()
        self._flac = sf.SoundFile(
            folder / CHANNELS,
            "w",
            samplerate=tap.sample_rate,
            channels=self.n,
            format="FLAC",
            subtype="PCM_24",
        )
        self.start_writer(folder, flush_s, "learn-recorder")

    @property
    def engineer_minutes(self) -> float:
        """Minutes of the show where at least one fader was the engineer's (the TUI shows it)."""
        return self.engineer_hops * self.hop / self.tap.sample_rate / 60.0

    def status(self) -> str:
        return f"learning: {self.engineer_minutes:.1f} min of engineer's mix recorded"

    def faders(self, sent_db: np.ndarray) -> list[float | None]:
        """Every driven fader's position on the console now (dB); without a console, what was
        sent. A channel no output has read is None."""
        if not self._linked:
            return [float(v) for v in sent_db]
        out: list[float | None] = [None] * self.n
        for sink in self._linked:
            held = sink.link_report().held_db
            for i, v in enumerate(held[: self.n]):
                if v is not None:
                    out[i] = float(v)
        return out

    def on_hop(self, snap: HopSnapshot) -> None:
        """After each hop (engine thread): queue that hop's audio and its row."""
        while self.tap.hops_seen:
            self._audio.append(self.tap.hops_seen.popleft())
        faders = self.faders(snap.sent_db)
        row = format_row(snap.t, faders, snap.model_db, snap.states, self.listen)
        self._rows.append(row)
        self.hops += 1
        pairs = zip(faders, snap.states, strict=True)
        if any(f is not None and (self.listen or s == "human") for f, s in pairs):
            self.engineer_hops += 1

    def write_queued(self) -> None:
        rows = [self._rows.popleft() for _ in range(len(self._rows))]
        chunks = [self._audio.popleft() for _ in range(len(self._audio))]
        if chunks:
            audio = np.clip(np.concatenate(chunks, axis=1).T, -1.0, 1.0)
            self._flac.write(audio.astype(np.float32))
            self._flac.flush()
        if rows:
            self._csv.write("".join(rows))
            self._csv.flush()

    def close_files(self) -> None:
        self._csv.close()
        self._flac.close()


def attach_recorder(show: Any, tap: LearnTap, sinks: list[Any], listen: bool) -> LearnRecorder:
    """Record `show` (built on `tap`) into its folder; the show's `learn` attribute is set."""
    if show.folder is None:
        raise ValueError("learn mode needs a show folder")
    recorder = LearnRecorder(show.folder, tap, sinks, listen=listen, hop=show.engine.hop_samples,
                             roles=getattr(show, "roles", None))  # fmt: skip
    show.add_listener(recorder.on_hop)
    show.learn = recorder
    return recorder
