"""Stand-ins for peers that cannot run here, shared by the output tests.

`FakeReaper`: REAPER itself cannot run on these machines (no display, no licence for CI), so it
stands in for the part of REAPER's OSC surface we use, behaving as csurf_osc.cpp in reaper-sdk
does: bank-relative track numbers, `/device/track/count` and `/device/track/bank/select` (1-based)
with a full refresh of the bank's names, numbers and levels (our heartbeat relies on this refresh;
it is read from csurf_osc's bank handling, not measured against a running REAPER), volume sets not
echoed on their own address but on `/volume/str`, touch and automation modes. `paused` stands for a
pulled cable: nothing arrives and nothing is sent.
`FakeMackieHost`: a DAW taking Mackie Control, as REAPER's csurf_mcu.cpp: banks that stop at the
ends, fader positions echoed and re-sent after a bank switch, the bank offset on the display.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import mido
import numpy as np

from bridge.outputs.midi import mackie
from bridge.outputs.osc import decode_message, encode_message

Address = tuple[str, int]


def f32(x: float) -> float:
    return float(np.float32(x))


def send_to(port: Any) -> Callable[[bytes], None]:
    """A thread-safe raw-bytes sender on a mido output port."""
    lock = threading.Lock()

    def send(data: bytes) -> None:
        with lock:
            port.send(mido.Message.from_bytes(list(data)))

    return send


class FakeReaper:
    """REAPER's OSC surface, reduced to track volumes, names, touch, modes and banks.

    As csurf_osc.cpp: a set is not echoed on its own address (antifeedback) but its other forms
    are; a feedback value is sent only when it changed, or twice at most when it did not.
    """

    def __init__(
        self,
        tracks: int = 8,
        names: list[str] | None = None,
        port: int = 0,
        device: Address | None = None,
        loss: float = 0.0,
        seed: int = 0,
        full_refresh: bool = True,
    ) -> None:
        self.full_refresh = full_refresh
        """False: a track count or bank select re-sends only what its cache lets through."""
        self.loss = loss
        """Probability that an incoming packet is dropped (UDP over Wi-Fi)."""
        self.dropped = 0
        self._rng = np.random.default_rng(seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.address: Address = self.sock.getsockname()[:2]
        self.device: Address | None = device
        """Where feedback goes: REAPER's 'device port'; taken from the first packet here."""
        self.bank_size = 8
        self.bank_start = 0
        self.volumes = [0.0] * tracks
        given = list(names or [])
        self.names = given + [f"Track {t + 1}" for t in range(len(given), tracks)]
        self.touched = [False] * tracks
        self.touch_log: list[tuple[int, bool]] = []
        self.modes = [""] * tracks
        self.sets: list[tuple[int, float]] = []
        self.paused = False
        """A pulled cable: incoming packets are counted in `missed`, nothing is sent."""
        self.missed: list[str] = []
        self.stalled = threading.Event()
        """A busy REAPER: while set, nothing is read; what arrives waits in the socket and is
        handled, in order, once it is cleared."""
        self._last: dict[str, tuple[object, int]] = {}
        self._editing = ""
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if self.stalled.is_set():
                self._stop.wait(0.01)
                continue
            try:
                data, sender = self.sock.recvfrom(65536)
            except (TimeoutError, OSError):
                continue
            self.device = self.device or (sender[0], sender[1])
            if self.loss and self._rng.random() < self.loss:
                self.dropped += 1
                continue
            try:
                address, args = decode_message(data)
            except ValueError:
                continue  # REAPER ignores what it cannot parse
            if self.paused:
                with self.lock:
                    self.missed.append(address)
                continue
            with self.lock:
                if address in self._last:  # an incoming message invalidates its cache entry
                    self._last[address] = (self._last[address][0], 0)
                self._editing = address
                self._handle(address, args)
                self._editing = ""

    def _handle(self, address: str, args: list[object]) -> None:
        if address == "/device/track/count":
            self.bank_size = int(args[0])  # type: ignore[call-overload]
            self._refresh(full=self.full_refresh)
        elif address == "/device/track/bank/select":
            start = (int(args[0]) - 1) * self.bank_size  # type: ignore[call-overload]
            if start >= len(self.volumes) - 1:
                start = max(0, len(self.volumes) - 2)
            self.bank_start = max(0, start) - max(0, start) % self.bank_size
            self._refresh(full=self.full_refresh)
        elif address.startswith("/track/"):
            parts = address.split("/")
            track = self.bank_start + int(parts[2])
            if not 1 <= track <= len(self.volumes):
                return
            what = "/".join(parts[3:])
            if what == "volume/db":
                self.volumes[track - 1] = f32(float(args[0]))  # type: ignore[arg-type]
                self.sets.append((track, self.volumes[track - 1]))
                self._volume_feedback(track)
            elif what == "volume/touch":
                self.touched[track - 1] = args[0] == 1.0
                self.touch_log.append((track, args[0] == 1.0))
            elif what.startswith("auto"):
                self.modes[track - 1] = what[4:]

    def _send(self, address: str, value: object) -> None:
        if self.device is None or address == self._editing or self.paused:
            return  # antifeedback: the sender is not told what it just set
        old, count = self._last.get(address, (None, 0))
        count = 0 if old != value else count
        self._last[address] = (value, count + 1)
        if count <= 1:
            self.sock.sendto(encode_message(address, value), self.device)  # type: ignore[arg-type]

    def _volume_feedback(self, track: int) -> None:
        n = track - self.bank_start
        if 1 <= n <= self.bank_size:
            db = self.volumes[track - 1]
            self._send(f"/track/{n}/volume/db", db)
            self._send(f"/track/{n}/volume/str", f"{db:+.2f}dB")

    def _refresh(self, full: bool = False) -> None:
        if full:  # the whole bank again, whatever was sent before
            self._last.clear()
        for n in range(1, self.bank_size + 1):
            track = self.bank_start + n
            name = self.names[track - 1] if track <= len(self.names) else f"Track {track}"
            self._send(f"/track/{n}/name", name)
            self._send(f"/track/{n}/number/str", str(track))
            if track <= len(self.volumes):
                self._volume_feedback(track)

    def person_moves(self, track: int, db: float) -> None:
        """Someone drags the fader in REAPER's mixer."""
        with self.lock:
            self.volumes[track - 1] = db
            self._volume_feedback(track)


class FakeMackieHost:
    """A DAW taking Mackie Control from one unit: tracks hold 14-bit fader positions."""

    def __init__(self, send: Callable[[bytes], None], tracks: int, offset: int = 0) -> None:
        self._send = send
        self.positions = [0] * tracks
        self.offset = offset
        self.touched: set[int] = set()
        self.touch_log: list[tuple[int, bool]] = []
        self.lastpos = [-1] * 8
        self.lock = threading.Lock()

    def handle(self, data: bytes) -> None:
        with self.lock:
            status, a, b = data
            if status & 0xF0 == 0xE0 and status & 0x0F < 8:
                track = self.offset + (status & 0x0F) + 1
                if track <= len(self.positions):
                    self.positions[track - 1] = a | (b << 7)
                    self._show(status & 0x0F)  # CSurf_SetSurfaceVolume(..., NULL): all surfaces
            elif status == 0x90 and 0x68 <= a <= 0x6F:
                track = self.offset + a - 0x68 + 1
                (self.touched.add if b >= 0x40 else self.touched.discard)(track)
                self.touch_log.append((track, b >= 0x40))
            elif status == 0x90 and 0x2E <= a <= 0x31 and b >= 0x40:
                step = 8 if a < 0x30 else 1
                if a & 1:
                    if step == 1 or self.offset + 8 < len(self.positions):
                        self.offset = min(self.offset + step, len(self.positions) - 1)
                else:
                    self.offset = max(0, self.offset - step)
                for strip in range(8):
                    self._show(strip)
                shown = self.offset + 1
                self._send(bytes((0xB0, 0x4B, 0x30 + (shown // 10) % 10)))
                self._send(bytes((0xB0, 0x4A, 0x30 + shown % 10)))

    def _show(self, strip: int) -> None:
        track = self.offset + strip + 1
        pos = self.positions[track - 1] if track <= len(self.positions) else 0
        if pos != self.lastpos[strip]:
            self.lastpos[strip] = pos
            self._send(mackie.fader(strip, pos))

    def person_moves(self, track: int, pos: int) -> None:
        """Someone drags the fader in the DAW with the mouse."""
        with self.lock:
            self.positions[track - 1] = pos
            strip = track - 1 - self.offset
            if 0 <= strip < 8:
                self._show(strip)


class HostLoop:
    """Feeds a fake host from a mido input port on a thread."""

    def __init__(
        self, host: FakeMackieHost | None, inport: Any, sink: list[bytes] | None = None
    ) -> None:
        self.host, self.inport, self.received = host, inport, sink if sink is not None else []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self.inport.iter_pending():
                data = bytes(msg.bytes())
                self.received.append(data)
                if self.host is not None:
                    self.host.handle(data)
            time.sleep(0.001)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
