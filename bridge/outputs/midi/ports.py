"""MIDI transports for the surface outputs: a named rtmidi port pair (the system's MIDI API, or JACK
MIDI), or mido's MIDI-over-TCP socket. Each is a context manager moving raw 3-byte messages."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

BACKENDS = {"rtmidi": "mido.backends.rtmidi", "jack": "mido.backends.rtmidi/UNIX_JACK"}
"""midi_transport -> mido backend ('jack' needs a running JACK server)."""


class MidiPortError(ConnectionError):
    """A MIDI port that cannot be opened: says which and what is available."""


class MidiPort:
    """An input and an output (possibly the same mido port); not thread-safe: one user thread."""

    def __init__(self, name: str, inport: Any, outport: Any) -> None:
        self.name = name
        self._in = inport
        self._out = outport

    def send(self, messages: Iterable[bytes]) -> None:
        import mido

        for data in messages:
            self._out.send(mido.Message.from_bytes(list(data)))

    def receive(self) -> list[bytes]:
        """Every message waiting now (never blocks)."""
        return [bytes(msg.bytes()) for msg in self._in.iter_pending()]

    def close(self) -> None:
        for port in {id(self._in): self._in, id(self._out): self._out}.values():
            with contextlib.suppress(Exception):
                port.close()

    def __enter__(self) -> MidiPort:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PolledInput:
    """An rtmidi input read by polling (`iter_pending`, as a mido input): RtMidi queues what
    arrives itself, so its JACK (or ALSA) thread never calls into Python.

    mido's rtmidi input registers a Python callback, and its `close` registers it again before
    closing the port. Closing while that thread waited for the interpreter lock let libjack
    cancel the thread mid-wait: it died holding the lock's mutex and the whole process hung
    (seen in the JACK MIDI surface test under a busy loop per core, 1 run in 7; gdb showed the
    GIL mutex owned by a thread that no longer existed). A show's engine would hang the same
    way when its surface closes."""

    def __init__(self, api: int, name: str, *, virtual: bool, client_name: str | None) -> None:
        import rtmidi

        self._rt = rtmidi.MidiIn(rtapi=api, name=client_name or "AiLive")
        try:
            if virtual:
                self._rt.open_virtual_port(name)
            else:
                ports = self._rt.get_ports()
                self._rt.open_port(ports.index(_find(ports, name, "input")))
        except BaseException:
            self._rt.delete()
            raise
        self._rt.ignore_types(sysex=False, timing=False, active_sense=True)

    def iter_pending(self) -> Iterator[Any]:
        import mido

        while True:
            got = self._rt.get_message()
            if got is None:
                return
            try:
                yield mido.Message.from_bytes(got[0])
            except ValueError:  # bytes that are no MIDI message: dropped, as mido does
                continue

    def close(self) -> None:
        if not self._rt.is_deleted:
            self._rt.close_port()
            self._rt.delete()


_RTMIDI_APIS = {"rtmidi": "API_UNSPECIFIED", "jack": "API_UNIX_JACK"}


def _find(names: list[str], wanted: str, direction: str) -> str:
    for name in names:
        if wanted in name:
            return name
    listed = ", ".join(repr(n) for n in names) or "none"
    raise MidiPortError(f"no MIDI {direction} port named like {wanted!r}; available: {listed}")


def open_port(
    transport: str,
    name: str = "",
    *,
    virtual: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    client_name: str = "AiLive",
) -> MidiPort:
    """Open the profile's MIDI connection; MidiPortError says what went wrong.

    rtmidi/jack: `virtual` creates ports called `name` for the host or surface to connect to;
    otherwise the existing ports whose names contain `name` are opened. tcp: connect to
    host:port where a mido `PortServer` (or compatible bridge) listens.
    """
    import mido

    if transport == "tcp":
        from mido import sockets

        try:
            sock = sockets.connect(host, port)
        except OSError as exc:
            raise MidiPortError(f"cannot connect to MIDI over TCP at {host}:{port}: {exc}") from exc
        return MidiPort(f"tcp {host}:{port}", sock, sock)
    if transport not in BACKENDS:
        raise MidiPortError(
            f"unknown MIDI transport {transport!r}; allowed: tcp, {', '.join(BACKENDS)}"
        )
    import rtmidi

    backend = mido.Backend(BACKENDS[transport], load=True)
    api = getattr(rtmidi, _RTMIDI_APIS[transport])
    try:
        if virtual:
            out = backend.open_output(name, virtual=True, client_name=client_name)
        else:
            out = backend.open_output(_find(backend.get_output_names(), name, "output"))
        try:
            inp = PolledInput(api, name, virtual=virtual, client_name=client_name)
        except Exception:
            out.close()
            raise
    except MidiPortError:
        raise
    except Exception as exc:  # rtmidi raises SystemError/OSError/its own errors
        hint = " (is a JACK server running?)" if transport == "jack" else ""
        raise MidiPortError(f"cannot open MIDI port {name!r} via {transport}{hint}: {exc}") from exc
    return MidiPort(f"{transport} {name}", inp, out)
