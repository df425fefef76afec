"""Live capture from a console's USB multitrack interface through sounddevice.

The PortAudio callback only copies the block into a bounded queue (dropping, and counting, when
the engine falls behind); the engine's thread re-chunks blocks into 50 ms hops.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from time import perf_counter
from typing import Any

import numpy as np

from bridge.config import SAMPLE_RATE
from bridge.devices import AudioBackendError, find_device, sounddevice
from bridge.sources import SourceError

log = logging.getLogger(__name__)

LOST_AFTER_S = 0.75
"""No block for this long is a lost device (an interface delivers one every few ms): the engine
freezes every fader, within a second of the last audio."""
FIRST_AUDIO_S = 3.0
"""A stream that is starting may take longer for its first block (JACK wiring a new client)."""
POLL_S = 0.05
RELEASE_TIMEOUT_S = 2.0
"""With the device gone (JACK server killed, interface unplugged) PortAudio can block forever in
stop/close: give up waiting after this long, so a lost capture still ends the show."""


class CaptureSource:
    """An AudioSource reading `channels` (0-based) of an input device at 48 kHz."""

    def __init__(
        self,
        device: str | int,
        channels: Sequence[int],
        *,
        sample_rate: int = SAMPLE_RATE,
        blocksize: int = 256,
        names: list[str] | None = None,
        queue_blocks: int = 256,
        lost_after_s: float = LOST_AFTER_S,
    ) -> None:
        """`lost_after_s`: silence that means the device is lost; `on_status` (set by the
        engine) is then called as ("lost", why) and, when audio flows again, ("back", why)."""
        self._sd = sounddevice()
        self.on_status: Callable[[str, str], None] | None = None
        self.device = find_device(device, kind="input")
        self.channels = list(channels)
        need = max(self.channels) + 1
        if need > self.device.max_inputs:
            raise AudioBackendError(
                f"channel-count mismatch: channel {need} requested but {self.device.name!r} has "
                f"{self.device.max_inputs} inputs"
            )
        try:
            self._sd.check_input_settings(
                device=self.device.index, channels=need, samplerate=sample_rate
            )
        except Exception as exc:
            raise AudioBackendError(
                f"{self.device.name!r} cannot capture {need} channels at {sample_rate} Hz "
                f"(its default rate is {self.device.default_rate:.0f} Hz): {exc}"
            ) from exc
        self.sample_rate = sample_rate
        self.names = names or [f"Ch {c + 1}" for c in self.channels]
        if len(self.names) != len(self.channels):
            raise ValueError(f"{len(self.names)} names for {len(self.channels)} channels")
        self.blocksize = blocksize
        self.lost_after_s = lost_after_s
        self._q: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=queue_blocks)
        self.hop_time: float | None = None
        self._counts = {"overflows": 0, "underflows": 0, "dropped_blocks": 0, "losses": 0}
        self._cols = np.array(self.channels)
        self._woken = threading.Event()
        self._stream: Any = self._sd.InputStream(
            device=self.device.index,
            channels=need,
            samplerate=sample_rate,
            blocksize=blocksize,
            dtype="float32",
            callback=self._callback,
        )

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status.input_overflow:
            self._counts["overflows"] += 1
        if status.input_underflow:
            self._counts["underflows"] += 1
        try:
            self._q.put_nowait((indata.copy(), perf_counter()))
        except queue.Full:
            self._counts["dropped_blocks"] += 1

    def stats(self) -> dict[str, int]:
        return dict(self._counts)

    def wake(self) -> None:
        """The show is ending: stop waiting for audio (the engine calls this on stop)."""
        self._woken.set()

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        buf = np.zeros((self.n_channels, 0), dtype=np.float32)
        self._stream.start()
        last_block = perf_counter()
        limit = max(self.lost_after_s, FIRST_AUDIO_S)
        lost_at: float | None = None
        ended_said = False
        try:
            while not self._woken.is_set():
                try:
                    block, arrived = self._q.get(timeout=POLL_S)
                except queue.Empty:
                    now = perf_counter()
                    if lost_at is None and now - last_block >= limit:
                        lost_at = now
                        self._counts["losses"] += 1
                        why = f"no audio from {self.device.name!r} for {now - last_block:.2f} s"
                        self._say("lost", why)
                    elif lost_at is not None and not ended_said and not self._stream.active:
                        ended_said = True  # PortAudio gave the stream up: it will not come back
                        log.error(
                            "the capture stream of %r has ended; faders stay frozen until the "
                            "show is stopped (then start it again)",
                            self.device.name,
                        )
                    continue
                last_block, limit = arrived, self.lost_after_s
                if lost_at is not None:
                    # Back: what was half a hop before the gap is not joined to what follows it.
                    buf = buf[:, :0]
                    self._say("back", f"{self.device.name!r} after {arrived - lost_at:.2f} s")
                    lost_at = None
                buf = np.concatenate([buf, block[:, self._cols].T], axis=1)
                while buf.shape[1] >= hop_samples:
                    # The hop's last sample came with this block (to within one block).
                    self.hop_time = arrived
                    yield buf[:, :hop_samples]
                    buf = buf[:, hop_samples:]
        finally:
            if lost_at is None:
                self._release("stop")

    def _say(self, kind: str, why: str) -> None:
        if self.on_status is None:
            if kind == "lost":  # nobody to hold the faders: end the show, frozen
                raise SourceError(why)
            return
        self.on_status(kind, why)

    def close(self) -> None:
        self._release("abort")
        self._release("close")

    def _release(self, action: str) -> None:
        worker = threading.Thread(target=getattr(self._stream, action), daemon=True)
        worker.start()
        worker.join(RELEASE_TIMEOUT_S)
        if worker.is_alive():
            log.warning("%r did not %s within %.0f s", self.device.name, action, RELEASE_TIMEOUT_S)
