"""Direct mode on a sound card: the engine's mono mix played on an output device.

The engine adds one 50 ms chunk per hop to a bounded queue (dropping and counting when full);
the PortAudio callback only copies from it. Chunks arrive on the hop clock and the card pulls on
its own, so playback starts once `prebuffer` chunks wait (one hop of output latency by default)
and, after running dry (counted), waits for that cushion again rather than stuttering.
"""

from __future__ import annotations

import queue
from typing import Any

import numpy as np

from bridge.config import SAMPLE_RATE
from bridge.devices import AudioBackendError, find_device, sounddevice


class MixPlayer:
    """A MixOutput that plays on `device` (index or part of its name).

    `outputs` picks which of the device's outputs carry the mono mix (0-based; default the first
    two, so a stereo pair gets it on both sides).
    """

    def __init__(
        self,
        device: str | int,
        *,
        sample_rate: int = SAMPLE_RATE,
        blocksize: int = 256,
        outputs: list[int] | None = None,
        queue_chunks: int = 8,
        prebuffer: int = 1,
    ) -> None:
        sd = sounddevice()
        self.device = find_device(device, kind="output")
        self.outputs = outputs if outputs is not None else [0, 1][: self.device.max_outputs]
        if not self.outputs or max(self.outputs) >= self.device.max_outputs:
            raise AudioBackendError(
                f"{self.device.name!r} has {self.device.max_outputs} outputs; "
                f"cannot play on {[o + 1 for o in self.outputs]}"
            )
        self.channels = max(self.outputs) + 1
        try:
            sd.check_output_settings(
                device=self.device.index, channels=self.channels, samplerate=sample_rate
            )
        except Exception as exc:
            raise AudioBackendError(
                f"{self.device.name!r} cannot play {self.channels} channels at {sample_rate} Hz: "
                f"{exc}"
            ) from exc
        self._q: queue.Queue[np.ndarray] = queue.Queue(maxsize=queue_chunks)
        self._chunk = np.zeros(0, dtype=np.float32)
        self._pos = 0
        self.prebuffer = prebuffer
        self._primed = False
        self.counts = {"underruns": 0, "dropped_chunks": 0, "output_underflows": 0}
        self._stream: Any = sd.OutputStream(
            device=self.device.index,
            channels=self.channels,
            samplerate=sample_rate,
            blocksize=blocksize,
            dtype="float32",
            callback=self._callback,
        )
        self._stream.start()

    def add(self, chunk: np.ndarray) -> None:
        try:
            self._q.put_nowait(np.asarray(chunk, dtype=np.float32))
        except queue.Full:
            self.counts["dropped_chunks"] += 1

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status.output_underflow:
            self.counts["output_underflows"] += 1
        outdata.fill(0.0)
        if not self._primed:
            if self._q.qsize() < self.prebuffer + 1:
                return
            self._primed = True
        filled = 0
        while filled < frames:
            if self._pos >= len(self._chunk):
                try:
                    self._chunk = self._q.get_nowait()
                    self._pos = 0
                except queue.Empty:
                    self.counts["underruns"] += 1
                    self._primed = False
                    return
            n = min(frames - filled, len(self._chunk) - self._pos)
            for ch in self.outputs:
                outdata[filled : filled + n, ch] = self._chunk[self._pos : self._pos + n]
            self._pos += n
            filled += n

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
