"""The output a mapping profile names (X32/M32, X-Air, REAPER OSC, Mackie Control, generic CC),
built and connected for the capture channels a show drives.

Protected and unmapped channels are never driven: the sink made here presents the subset it drives
as a sink for all of the show's channels, and maps indices both ways.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bridge.outputs.base import GainSink, HumanMoveCallback
from bridge.outputs.link import LinkReport
from bridge.profiles import ChannelMap, Profile

log = logging.getLogger(__name__)


class SinkError(ConnectionError):
    """The profile's output cannot be reached or opened; the message says which and why."""


class MappedSink:
    """A sink driving some of a show's channels, seen by the engine as a sink for all of them."""

    def __init__(self, inner: Any, indices: Sequence[int], n_channels: int) -> None:
        """`inner` channel k is the show's channel `indices[k]`; it must be a connected sink."""
        self.inner = inner
        self.name: str = inner.name
        self._indices = list(indices)
        self._n = n_channels
        self.on_human_move: HumanMoveCallback | None = None
        """Called as (show channel index, dB) when a person takes a fader."""
        self.on_release: Callable[[int], None] | None = None
        """Called as (show channel index) when a person hands a fader back from the console."""
        inner.on_human_move = self._forward
        if hasattr(inner, "on_release"):
            inner.on_release = self._forward_release

    def _forward(self, k: int, db: float) -> None:
        callback = self.on_human_move
        if callback is not None:
            callback(self._indices[k], db)

    def _forward_release(self, k: int) -> None:
        callback = self.on_release
        if callback is not None:
            callback(self._indices[k])

    def link_report(self) -> LinkReport:
        """The inner output's link, with what it holds placed on the show's channels."""
        inner: LinkReport = self.inner.link_report()
        held: list[float | None] = [None] * self._n
        for k, value in enumerate(inner.held_db):
            held[self._indices[k]] = value
        return replace(inner, held_db=tuple(held))

    def take_base(self) -> list[float | None] | None:
        base = self.inner.take_base()
        if base is None:
            return None
        out: list[float | None] = [None] * self._n
        for k, value in enumerate(base):
            out[self._indices[k]] = value
        return out

    def send(self, gains_db: np.ndarray, t: float) -> None:
        gains = np.asarray(gains_db, dtype=np.float64)
        if gains.shape != (self._n,):
            raise ValueError(f"{self.name}: expected {self._n} gains, got {gains.shape}")
        self.inner.send(gains[self._indices], t)

    def flush(self, timeout_s: float = 1.0) -> bool:
        return bool(self.inner.flush(timeout_s))

    def status(self) -> str:
        return str(self.inner.status())

    def close(self) -> None:
        self.inner.close()

    @property
    def names(self) -> list[str]:
        """Strip names from the console or DAW per show channel ('' where unknown)."""
        out = [""] * self._n
        for k, name in enumerate(getattr(self.inner, "names", [])):
            out[self._indices[k]] = name
        return out

    @property
    def overridden(self) -> frozenset[int]:
        return frozenset(self._indices[k] for k in self.inner.overridden)

    def release(self, index: int) -> None:
        """Give show channel `index` back to the engine (no-op for a channel we do not drive)."""
        if index in self._indices:
            self.inner.release(self._indices.index(index))


def driven(profile: Profile, channels: Sequence[int]) -> list[tuple[int, ChannelMap]]:
    """(show index, mapping) for every show channel the profile drives (not protected)."""
    maps = {m.capture - 1: m for m in profile.channels}
    out = []
    for i, capture in enumerate(channels):
        m = maps.get(capture)
        if m is not None and not m.protected:
            out.append((i, m))
    return out


def make_sink(
    profile: Profile,
    channels: Sequence[int],
    *,
    host: str | None = None,
    port: int | None = None,
    on_human_move: HumanMoveCallback | None = None,
) -> MappedSink:
    """Build and connect the profile's output for show channels `channels` (0-based capture
    indices, in show order). `host`/`port` override the profile's. Raises SinkError."""
    pairs = driven(profile, channels)
    if not pairs:
        raise SinkError(
            f"profile {profile.name!r}: none of these channels is mapped and unprotected"
        )
    strips = [m.strip for _, m in pairs]
    host = host or profile.host
    port = port or profile.port
    interval = 1.0 / profile.max_rate_hz
    where = f"profile {profile.name!r} ({profile.output})"
    try:
        inner = _connect(profile, pairs, strips, host, port, interval)
    except (ConnectionError, OSError, ValueError) as exc:
        raise SinkError(f"{where}: {exc}") from exc
    sink = MappedSink(inner, [i for i, _ in pairs], len(channels))
    sink.on_human_move = on_human_move
    assert isinstance(sink, GainSink)
    log.info("%s: %s drives %d channels", where, sink.name, len(pairs))
    return sink


def _connect(
    profile: Profile,
    pairs: list[tuple[int, ChannelMap]],
    strips: list[int],
    host: str,
    port: int,
    interval: float,
) -> Any:
    kind = profile.output
    if kind in ("x32", "xair"):
        from bridge.outputs.x32.client import X32Client
        from bridge.outputs.x32.models import console_model

        return X32Client(
            host,
            port,
            channels=strips,
            model=console_model(kind),
            min_interval_s=interval,
            resync=profile.on_resync,
            listen=profile.mode == "listen",
        ).connect()
    if kind == "reaper":
        from bridge.outputs.reaper.client import ReaperOscClient

        return ReaperOscClient(
            host,
            port,
            strips,
            listen_port=profile.listen_port,
            bank_size=profile.bank_size,
            automation_mode=profile.automation_mode,
            min_interval_s=interval,
            resync=profile.on_resync,
            listen=profile.mode == "listen",
        ).connect()
    if kind in ("mackie", "cc"):
        from bridge.outputs.midi.mappings import CcMapping, MackieMapping
        from bridge.outputs.midi.ports import open_port
        from bridge.outputs.midi.surface import MidiSurface

        mapping: MackieMapping | CcMapping
        if kind == "mackie":
            mapping = MackieMapping(strips)
        else:
            mapping = CcMapping([(m.midi_channel, m.cc) for _, m in pairs], bits=profile.cc_bits)
        assert profile.law is not None  # every MIDI profile gets one on load
        midi = open_port(
            profile.midi_transport,
            profile.midi_port,
            virtual=profile.midi_virtual,
            host=host,
            port=port,
        )
        label = "Mackie" if kind == "mackie" else "MIDI CC"
        return MidiSurface(
            midi,
            mapping,
            profile.law,
            min_interval_s=interval,
            name=f"{label} {midi.name}",
            listen=profile.mode == "listen",
        )
    raise SinkError(f"output {kind!r} has no sink")
