"""MIDI transports for the surface outputs: a named rtmidi port pair (the system's MIDI API, or JACK
MIDI), or mido's MIDI-over-TCP socket. Each is a context manager moving raw 3-byte messages."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
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
    backend = mido.Backend(BACKENDS[transport], load=True)
    try:
        if virtual:
            out = backend.open_output(name, virtual=True, client_name=client_name)
            try:
                inp = backend.open_input(name, virtual=True, client_name=client_name)
            except Exception:
                out.close()
                raise
        else:
            out = backend.open_output(_find(backend.get_output_names(), name, "output"))
            try:
                inp = backend.open_input(_find(backend.get_input_names(), name, "input"))
            except Exception:
                out.close()
                raise
    except MidiPortError:
        raise
    except Exception as exc:  # rtmidi raises SystemError/OSError/its own errors
        hint = " (is a JACK server running?)" if transport == "jack" else ""
        raise MidiPortError(f"cannot open MIDI port {name!r} via {transport}{hint}: {exc}") from exc
    return MidiPort(f"{transport} {name}", inp, out)
