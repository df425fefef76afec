"""A JACK server with the dummy driver: real-time audio and MIDI routing with no sound card, for
rehearsals, capture tests and latency benchmarks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class JackUnavailable(RuntimeError):
    """jackd or the Python JACK/PortAudio clients are missing."""


def jack_available() -> str | None:
    """None when a JACK server and the Python clients can run here, else the reason."""
    if shutil.which("jackd") is None:
        return "jackd is not installed (apt-get install jackd2)"
    try:
        import jack  # noqa: F401
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"JACK-Client or PortAudio missing: {exc}"
    return None


_SERVERS: dict[str, int] = {}
"""Server name -> jackd pid, for the servers dummy_jack runs now."""


@contextmanager
def stalled(name: str) -> Iterator[None]:
    """The server `name` (started by dummy_jack) stops dead meanwhile (SIGSTOP), as a hung USB
    interface does, and goes on afterwards (SIGCONT): no cycle, no audio, nothing crashes."""
    pid = _SERVERS[name]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@contextmanager
def dummy_jack(
    rate: int = 48_000,
    period: int = 256,
    ports: int = 16,
    wait_for_clients_ms: int = 0,
    realtime: bool = False,
) -> Iterator[str]:
    """Start `jackd -d dummy` under a unique server name; yields the name. Raises
    JackUnavailable when it cannot run here.

    wait_for_clients_ms > 0 runs the server in synchronous mode with that client timeout: a
    client that is late (a busy machine) delays the cycle instead of losing it, so every client
    sees every sample. For tests of what the audio is, not of when it arrives.

    realtime=True runs the server's threads real-time (`jackd -R`, as a rig on stage runs it;
    where that is not permitted jackd goes on without). Default off: tests need no privilege.

    Sets JACK_DEFAULT_SERVER for this process, so PortAudio and JACK-Client use this server.
    """
    reason = jack_available()
    if reason:
        raise JackUnavailable(reason)
    import jack
    import sounddevice as sd

    name = f"ailive-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    proc = subprocess.Popen(
        [
            "jackd",
            "-n",
            name,
            "--realtime" if realtime else "--no-realtime",
            *(["--sync", "-t", str(wait_for_clients_ms)] if wait_for_clients_ms > 0 else []),
            "-d",
            "dummy",
            "-r",
            str(rate),
            "-p",
            str(period),
            "-C",
            str(ports),
            "-P",
            str(ports),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _SERVERS[name] = proc.pid
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                probe: Any = jack.Client("probe", servername=name, no_start_server=True)
                probe.close()
                break
            except jack.JackOpenError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise JackUnavailable(f"jackd did not start (exit {proc.poll()})") from None
                time.sleep(0.05)
        # PortAudio scans servers when it initialises: make it see this one.
        sd._terminate()
        sd._initialize()
        yield name
    finally:
        # PortAudio must let go of the server before it stops, or Python aborts at exit.
        sd._terminate()
        _SERVERS.pop(name, None)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sd._initialize()


class JackPlayer:
    """A JACK client that plays multichannel audio (channels, samples) into its output ports,
    as a console's USB interface would, once `playing` is set; `loop` repeats it."""

    def __init__(self, audio: np.ndarray, *, name: str = "ailive-player", loop: bool = False):
        import jack

        self.audio = np.ascontiguousarray(audio, dtype=np.float32)
        self.loop = loop
        self.pos = 0
        self.playing = False
        self.client: Any = jack.Client(name, no_start_server=True)
        self.ports = [self.client.outports.register(f"out_{i + 1}") for i in range(len(audio))]
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        total = self.audio.shape[1]
        playing = self.playing  # once per cycle: every port starts on the same sample
        for i, port in enumerate(self.ports):
            buf = port.get_array()
            if not playing:
                buf[:] = 0.0
                continue
            pos = self.pos
            done = 0
            while done < frames:
                if pos >= total:
                    if not self.loop:
                        buf[done:] = 0.0
                        break
                    pos = 0
                n = min(frames - done, total - pos)
                buf[done : done + n] = self.audio[i, pos : pos + n]
                done += n
                pos += n
        if playing:
            self.pos = (self.pos + frames) % total if self.loop else self.pos + frames

    def wire_to_portaudio(self, timeout_s: float = 5.0) -> None:
        """PortAudio connects its inputs to system:capture; connect them to us instead."""
        deadline = time.monotonic() + timeout_s
        while True:
            pa_inputs = self.client.get_ports(
                is_input=True, is_audio=True, name_pattern="PortAudio"
            )
            if len(pa_inputs) >= len(self.ports):
                break
            if time.monotonic() > deadline:
                raise JackUnavailable("PortAudio's capture ports never appeared in JACK")
            time.sleep(0.01)
        for port in pa_inputs:
            for other in self.client.get_all_connections(port):
                self.client.disconnect(other, port)
        for ours, theirs in zip(self.ports, pa_inputs, strict=False):
            self.client.connect(ours, theirs)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
