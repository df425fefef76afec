"""A local UDP stand-in for the X32 subset we use (faders, names, mutes, /xremote).

Rehearse without hardware (`python -m bridge.virtual_console`) and use it as the tests' peer.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from bridge.config import VIRTUAL_CONSOLE_HOST, VIRTUAL_CONSOLE_PORT
from bridge.outputs.link import ReceiveGuard
from bridge.outputs.osc import OscArg, decode_message, encode_message
from bridge.outputs.x32.codec import (
    CHANNEL_COUNT,
    NAME_MAX_CHARS,
    channel_fader_address,
    channel_name_address,
    channel_on_address,
    parse_channel_address,
)
from bridge.outputs.x32.law import db_to_fader, fader_to_db, quantize
from bridge.outputs.x32.models import MODELS, X32, ConsoleModel

log = logging.getLogger(__name__)

Address = tuple[str, int]
Outgoing = list[tuple[bytes, Address]]
"""Datagrams to send once the state lock is released."""

CONSOLE_NAME = "AiLive-Virtual"
CONSOLE_FIRMWARE = "4.06"
SERVER_VERSION = "V2.07"
HISTORY_LEN = 10_000
MAX_XREMOTE = 4
"""An X32 serves at most 4 /xremote clients; a fifth is ignored until one expires."""


@dataclass(frozen=True)
class FaderSet:
    """One fader set received from a client (not a surface move)."""

    t: float
    """time.monotonic() when it was applied."""
    channel: int
    value: float
    """The stored (quantised) value."""
    sender: Address


class VirtualConsole:
    """UDP OSC server behaving like an X32 for channel faders, names, mutes and /xremote.

    `model=XAIR` makes it an X-Air (16 channels, /lr/mix/fader, XR18 in /xinfo).
    """

    def __init__(
        self,
        host: str = VIRTUAL_CONSOLE_HOST,
        port: int = 0,
        channels: int | None = None,
        names: Sequence[str] | None = None,
        xremote_timeout_s: float = 10.0,
        loss: float = 0.0,
        seed: int = 0,
        reply_loss: float = 0.0,
        initial_fader: float = 0.75,
        model: ConsoleModel = X32,
        faders_db: Sequence[float] | None = None,
    ) -> None:
        """`faders_db`: start levels of channels 1.. (e.g. a soundcheck, -inf for a closed
        fader); the rest start at `initial_fader`. `loss` and `reply_loss`: the probability that
        an incoming or an outgoing datagram is dropped (both may be changed while it runs)."""
        channels = model.channels if channels is None else channels
        if not 1 <= channels <= min(model.channels, CHANNEL_COUNT):
            raise ValueError(f"channels must be 1..{model.channels}, got {channels}")
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss is a drop probability in [0, 1), got {loss}")
        if not 0.0 <= reply_loss <= 1.0:
            raise ValueError(f"reply_loss is a drop probability in [0, 1], got {reply_loss}")
        names = list(names or [])
        if len(names) > channels:
            raise ValueError(f"{len(names)} names given for {channels} channels")
        self.model = model
        self._host = host
        self._requested_port = port
        self._channels = channels
        self._xremote_timeout_s = xremote_timeout_s
        self.loss = loss
        """Probability that an incoming datagram is dropped."""
        self.reply_loss = reply_loss
        """Probability that a datagram it sends (a reply or a push) is dropped."""
        self._rng = random.Random(seed)
        self._reply_rng = random.Random(seed + 1)

        self._lock = threading.Lock()
        self._faders = [quantize(initial_fader)] * channels
        for i, db in enumerate(list(faders_db or [])[:channels]):
            self._faders[i] = quantize(db_to_fader(db))
        self._go = threading.Event()
        self._go.set()
        """Cleared while `held()`: datagrams wait in the socket, then are handled in order."""
        self.paused = False
        """A pulled cable: packets are counted in `missed` and not answered; nothing is pushed."""
        self.missed: list[str] = []
        self.guard = ReceiveGuard("virtual console", decode_message)
        self._main = quantize(initial_fader)
        self._names = [n[:NAME_MAX_CHARS] for n in names] + [""] * (channels - len(names))
        self._on = [1] * channels
        self._set_counts = [0] * channels
        self._query_counts = [0] * channels
        self._replies_dropped = 0
        self._history: deque[FaderSet] = deque(maxlen=HISTORY_LEN)
        self._subscribers: dict[Address, float] = {}
        self._received = 0
        self._dropped = 0

        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._handlers: dict[str, Callable[[list[object], Address], Outgoing]] = {
            "/xinfo": self._on_xinfo,
            "/info": self._on_info,
            "/status": self._on_status,
            "/xremote": self._on_xremote,
            model.main_fader: self._on_main_fader,
        }
        self._channel_handlers: dict[str, Callable[[int, list[object], Address], Outgoing]] = {
            "fader": self._on_fader,
            "name": self._on_name,
            "on": self._on_mix_on,
        }

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> VirtualConsole:
        """Bind the socket and start the receive thread; returns self."""
        if self._sock is not None:
            raise RuntimeError("virtual console already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self._host, self._requested_port))
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.2)  # lets the thread notice stop() even if the wake-up packet is lost
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="virtual-x32", daemon=True)
        self._thread.start()
        log.info("virtual X32 listening on %s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Stop the thread and close the socket; safe to call twice."""
        sock, thread = self._sock, self._thread
        if sock is None:
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            sock.sendto(b"", sock.getsockname())  # wake recvfrom now
        if thread is not None:
            thread.join(timeout=2.0)
        sock.close()
        self._sock = None
        self._thread = None

    def __enter__(self) -> VirtualConsole:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def address(self) -> Address:
        """(host, port) the console listens on; the real port when started with port=0."""
        if self._sock is None:
            raise RuntimeError("virtual console not started")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    # --- state for tests and the TUI -----------------------------------------------------------

    @property
    def channels(self) -> int:
        return self._channels

    def fader(self, ch: int) -> float:
        """Stored fader value of channel `ch` (1-based)."""
        with self._lock:
            return self._faders[self._index(ch)]

    def fader_db(self, ch: int) -> float:
        return fader_to_db(self.fader(ch))

    @property
    def main_fader(self) -> float:
        """Stored value of the main fader (/main/st/mix/fader, or /lr/mix/fader on X-Air)."""
        with self._lock:
            return self._main

    def mix_on(self, ch: int) -> int:
        """1 = channel on (unmuted), 0 = muted."""
        with self._lock:
            return self._on[self._index(ch)]

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._names)

    def set_count(self, ch: int) -> int:
        """How many fader sets channel `ch` received from clients."""
        with self._lock:
            return self._set_counts[self._index(ch)]

    def query_count(self, ch: int) -> int:
        """How many fader queries (reads) of channel `ch` it received and answered."""
        with self._lock:
            return self._query_counts[self._index(ch)]

    @property
    def history(self) -> list[FaderSet]:
        """Fader sets received from clients, oldest first (the last 10 000)."""
        with self._lock:
            return list(self._history)

    @property
    def dropped(self) -> int:
        """Incoming packets discarded by the simulated loss."""
        with self._lock:
            return self._dropped

    @property
    def replies_dropped(self) -> int:
        """Outgoing packets discarded by the simulated loss."""
        with self._lock:
            return self._replies_dropped

    def subscribers(self) -> list[Address]:
        """Clients whose /xremote subscription is still live."""
        with self._lock:
            self._prune(time.monotonic())
            return list(self._subscribers)

    def move_fader(self, ch: int, f: float) -> None:
        """A person moves the fader on the surface: every live subscriber hears about it."""
        with self._lock:
            i = self._index(ch)
            self._faders[i] = quantize(f)
            out = self._push(channel_fader_address(ch), (self._faders[i],), exclude=None)
        self._send_all(out)

    def press_select(self, ch: int) -> None:
        """A person presses channel `ch`'s select button: /-stat/selidx goes to subscribers."""
        with self._lock:
            out = self._push("/-stat/selidx", (self._index(ch),), exclude=None)
        self._send_all(out)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """A busy desk: what arrives meanwhile waits and is handled, in order, afterwards (a
        person's move on the surface still happens at once). Tests make races happen with it."""
        self._go.clear()
        try:
            yield
        finally:
            self._go.set()

    def send_as_console(self, data: bytes, to: Address) -> None:
        """Send raw bytes from the console's own socket (drills: garbage that passes the
        sender check of a client)."""
        sock = self._sock
        if sock is not None:
            sock.sendto(data, to)

    # --- receive loop and dispatch -------------------------------------------------------------

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                data, sender = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    break
                log.debug("receive error ignored: %s", exc)
                continue
            while not self._go.wait(0.1):
                if self._stop.is_set():
                    return
            if self._stop.is_set():
                break
            with self._lock:
                self._received += 1
                if self.loss and self._rng.random() < self.loss:
                    self._dropped += 1
                    continue
                if self.paused:
                    self.missed.append(data.split(b"\0", 1)[0].decode("latin-1"))
                    continue
            try:
                self._handle(data, (str(sender[0]), int(sender[1])))
            except Exception:  # one bad packet must never kill the console
                log.exception("error handling packet from %s:%d", *sender[:2])

    def _handle(self, data: bytes, sender: Address) -> None:
        message = self.guard.decode(data)
        if message is None:
            return
        address, args = message
        log.debug("%s:%d -> %s %s", *sender, address, args)
        out: Outgoing = []
        handler = self._handlers.get(address)
        parsed = parse_channel_address(address)
        with self._lock:
            if handler is not None:
                out = handler(args, sender)
            elif parsed is not None and parsed[0] <= self._channels:
                ch, param = parsed
                out = self._channel_handlers[param](ch, args, sender)
            else:
                log.debug("unknown address %s ignored", address)
        self._send_all(out)

    # Handlers run under the lock and return what to send.

    def _on_xinfo(self, args: list[object], sender: Address) -> Outgoing:
        model = self.model.xinfo_model
        msg = encode_message("/xinfo", self._host, CONSOLE_NAME, model, CONSOLE_FIRMWARE)
        return [(msg, sender)]

    def _on_info(self, args: list[object], sender: Address) -> Outgoing:
        model = self.model.xinfo_model
        msg = encode_message("/info", SERVER_VERSION, CONSOLE_NAME, model, CONSOLE_FIRMWARE)
        return [(msg, sender)]

    def _on_status(self, args: list[object], sender: Address) -> Outgoing:
        return [(encode_message("/status", "active", self._host, CONSOLE_NAME), sender)]

    def _on_xremote(self, args: list[object], sender: Address) -> Outgoing:
        now = time.monotonic()
        self._prune(now)
        if sender not in self._subscribers and len(self._subscribers) >= MAX_XREMOTE:
            log.debug("/xremote from %s:%d refused: %d clients already", *sender, MAX_XREMOTE)
            return []
        self._subscribers[sender] = now + self._xremote_timeout_s
        return []

    def _on_main_fader(self, args: list[object], sender: Address) -> Outgoing:
        address = self.model.main_fader
        if not args:
            return [(encode_message(address, self._main), sender)]
        value = args[0]
        if isinstance(value, bool) or not isinstance(value, float | int):
            return []
        self._main = quantize(float(value))
        return self._push(address, (self._main,), exclude=sender)

    def _on_fader(self, ch: int, args: list[object], sender: Address) -> Outgoing:
        i = ch - 1
        address = channel_fader_address(ch)
        if not args:
            self._query_counts[i] += 1
            return [(encode_message(address, self._faders[i]), sender)]
        value = args[0]
        if isinstance(value, bool) or not isinstance(value, float | int):
            log.debug("%s with non-numeric %r ignored", address, value)
            return []
        self._faders[i] = quantize(float(value))
        self._set_counts[i] += 1
        self._history.append(FaderSet(time.monotonic(), ch, self._faders[i], sender))
        return self._push(address, (self._faders[i],), exclude=sender)

    def _on_name(self, ch: int, args: list[object], sender: Address) -> Outgoing:
        i = ch - 1
        address = channel_name_address(ch)
        if not args:
            return [(encode_message(address, self._names[i]), sender)]
        if not isinstance(args[0], str):
            return []
        self._names[i] = args[0][:NAME_MAX_CHARS]
        return self._push(address, (self._names[i],), exclude=sender)

    def _on_mix_on(self, ch: int, args: list[object], sender: Address) -> Outgoing:
        i = ch - 1
        address = channel_on_address(ch)
        if not args:
            return [(encode_message(address, self._on[i]), sender)]
        value = args[0]
        if isinstance(value, bool) or not isinstance(value, float | int):
            return []
        self._on[i] = 1 if value >= 0.5 else 0
        return self._push(address, (self._on[i],), exclude=sender)

    # --- helpers -------------------------------------------------------------------------------

    def _index(self, ch: int) -> int:
        if not 1 <= ch <= self._channels:
            raise ValueError(f"channel must be 1..{self._channels}, got {ch}")
        return ch - 1

    def _prune(self, now: float) -> None:
        for addr in [a for a, expiry in self._subscribers.items() if expiry <= now]:
            del self._subscribers[addr]
            log.debug("/xremote of %s:%d expired", *addr)

    def _push(self, address: str, args: tuple[OscArg, ...], exclude: Address | None) -> Outgoing:
        """A change to every live /xremote subscriber except the client that made it."""
        self._prune(time.monotonic())
        msg = encode_message(address, *args)
        return [(msg, addr) for addr in self._subscribers if addr != exclude]

    def _send_all(self, out: Outgoing) -> None:
        sock = self._sock
        if sock is None or self.paused:
            return
        for msg, addr in out:
            if self.reply_loss:
                with self._lock:
                    lost = self._reply_rng.random() < self.reply_loss
                    self._replies_dropped += lost
                if lost:
                    continue
            try:
                sock.sendto(msg, addr)
            except OSError as exc:
                log.debug("send to %s:%d failed: %s", *addr, exc)


def parse_faders(text: str) -> list[float]:
    """'-10,-5,-inf,0' -> levels in dB (-inf allowed, -90..+10 otherwise); ValueError if bad."""
    out = []
    for part in (p.strip() for p in text.split(",")) if text.strip() else []:
        try:
            db = float(part)
        except ValueError:
            raise ValueError(f"not a level in dB: {part!r}") from None
        if db != float("-inf") and not -90.0 <= db <= 10.0:
            raise ValueError(f"levels are -inf or -90..10 dB, got {part}")
        out.append(db)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run a virtual console until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge.virtual_console",
        description="A virtual Behringer X32 (faders, names, mutes, /xremote) over UDP OSC.",
    )
    parser.add_argument("--host", default=VIRTUAL_CONSOLE_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=VIRTUAL_CONSOLE_PORT, help="UDP port")
    parser.add_argument("--channels", type=int, default=None, help="number of channels")
    parser.add_argument("--model", choices=sorted(MODELS), default="x32", help="console family")
    parser.add_argument("--names", default="", help="comma-separated channel names")
    parser.add_argument("--loss", type=float, default=0.0, help="incoming packet-drop probability")
    parser.add_argument(
        "--faders",
        default="",
        help="start levels in dB of channels 1.., e.g. -10,-5,-20,-3,-12,-inf,0,-25",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every packet received")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    names = [n.strip() for n in args.names.split(",")] if args.names else None
    try:
        faders = parse_faders(args.faders)
    except ValueError as exc:
        print(f"error: --faders: {exc}")
        return 2
    try:
        console = VirtualConsole(
            args.host,
            args.port,
            channels=args.channels,
            names=names,
            loss=args.loss,
            model=MODELS[args.model],
            faders_db=faders,
        )
        with console:
            host, port = console.address
            print(f"virtual X32 on {host}:{port} (Ctrl-C to stop)", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
