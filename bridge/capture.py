"""Live capture from a console's USB multitrack interface through sounddevice.

The PortAudio callback only copies the block into a bounded queue (dropping, and counting, when
the engine falls behind); the engine's thread re-chunks blocks into 50 ms hops.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from time import perf_counter
from typing import Any

import numpy as np

from bridge.config import SAMPLE_RATE
from bridge.devices import AudioBackendError, find_device, sounddevice
from bridge.sources import SourceError

log = logging.getLogger(__name__)

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
        timeout_s: float = 2.0,
    ) -> None:
        self._sd = sounddevice()
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
        self.timeout_s = timeout_s
        self._q: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=queue_blocks)
        self.hop_time: float | None = None
        self._counts = {"overflows": 0, "underflows": 0, "dropped_blocks": 0}
        self._cols = np.array(self.channels)
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

    def hops(self, hop_samples: int) -> Iterator[np.ndarray]:
        buf = np.zeros((self.n_channels, 0), dtype=np.float32)
        self._stream.start()
        lost = False
        try:
            while True:
                try:
                    block, arrived = self._q.get(timeout=self.timeout_s)
                except queue.Empty:
                    lost = True  # said at once; the stream is let go of in close()
                    raise SourceError(
                        f"no audio from {self.device.name!r} for {self.timeout_s:.1f} s"
                    ) from None
                buf = np.concatenate([buf, block[:, self._cols].T], axis=1)
                while buf.shape[1] >= hop_samples:
                    # The hop's last sample came with this block (to within one block).
                    self.hop_time = arrived
                    yield buf[:, :hop_samples]
                    buf = buf[:, hop_samples:]
        finally:
            if not lost:
                self._release("stop")

    def close(self) -> None:
        self._release("abort")
        self._release("close")

    def _release(self, action: str) -> None:
        worker = threading.Thread(target=getattr(self._stream, action), daemon=True)
        worker.start()
        worker.join(RELEASE_TIMEOUT_S)
        if worker.is_alive():
            log.warning("%r did not %s within %.0f s", self.device.name, action, RELEASE_TIMEOUT_S)
