"""The engine in its own process for the TUI: the UI's drawing never holds the engine's GIL.

The child (started with `spawn`) builds the show and runs all of it: capture, model, safety,
outputs, journal; a person's fader move on the console reaches its engine directly there. The
parent runs only the Textual app, over a `RemoteShow` that gives the app what a Show gives it.

- Child -> UI: the latest hop, latest wins. The engine thread's listener puts the snapshot in a
  one-slot mailbox and returns (it never waits on the UI); a sender thread drains the slot into
  the pipe with the settings (when they changed), each output's status line and the log records
  since the last send. If the UI stops reading, only the sender waits; hops in between are
  replaced, never queued.
- UI -> child: the engineer's overrides as small commands (desk actions, restore, stop), applied
  in the child by its own `OverrideDesk` (the undo stack lives with the settings it restores);
  each is answered with its status line and the settings after it.
- The parent gone (killed or crashed): the child reads end-of-file on the pipe and stops the
  show at once, writing what was mixed; no orphaned engine moves faders.
- The child gone before it said the show ended: the UI shows a fault banner saying nothing moves
  the faders any more.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bridge.engine import EngineStats, HopSnapshot
from bridge.live_profile import ApplyResult, show_capture_channels
from bridge.safety import ChannelSettings, Mode, SafetyStage
from bridge.tui.master import model_label
from bridge.tui.overrides import OverrideDesk

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
"""How long the child may take to build the show (loading a model) before the UI gives up."""
REPLY_TIMEOUT_S = 5.0
"""How long a key press waits for the child's answer."""
SEND_POLL_S = 0.1
LOG_KEEP = 500
"""Log records held for the UI between two sends (older ones are dropped, the journal has them)."""
GONE = "engine process gone"


@dataclass
class ShowInfo:
    """What the UI needs to build its screens, sent once the child's show exists."""

    names: list[str]
    title: str
    colors: list[str]
    model: str
    hop_s: float
    ride: str
    sinks: list[tuple[str, bool]]
    """(name, listen) of each output."""
    learn: bool
    capture_channels: list[int]
    settings: list[ChannelSettings]
    mode: str
    pid: int
    live_profile: str = ""


@dataclass
class Update:
    """One send from the child: the latest hop and what changed since the last send."""

    snapshot: HopSnapshot | None
    applied: int
    """The last UI command the child had applied when it built this update."""
    settings: tuple[list[ChannelSettings], str] | None
    """Every channel's settings and the desk's mode, when they changed since the last send."""
    sinks: list[str]
    learn: str
    logs: list[tuple[str, int, str]] = field(default_factory=list)
    """(logger name, level, formatted message)."""


# The child.


class _Forward(logging.Handler):
    """Log records for the UI: appended to a bounded deque (never blocks the engine thread)."""

    def __init__(self, out: deque[tuple[str, int, str]], wake: threading.Event) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.wake = wake

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.out.append((record.name, record.levelno, record.getMessage()))
        except Exception:  # a record that cannot be formatted must not stop the engine
            return
        self.wake.set()


class Server:
    """The child's side: serves one show to the UI over `conn`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._slot: HopSnapshot | None = None
        self._logs: deque[tuple[str, int, str]] = deque(maxlen=LOG_KEEP)
        self._show: Any = None
        self._desk: OverrideDesk | None = None
        self._applied = 0
        self._version = -1
        self.stop_asked = threading.Event()
        """The UI asked for a stop (or is gone) before the show existed, or while it ran."""
        self.parent_gone = False
        threading.Thread(target=self._commands, name="ui-commands", daemon=True).start()

    def send(self, *message: Any) -> bool:
        if self.parent_gone:
            return False
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, EOFError, BrokenPipeError):
            self._parent_died()
            return False
        return True

    def _parent_died(self) -> None:
        if not self.parent_gone:
            self.parent_gone = True
            log.error("the UI process is gone: stopping the show, keeping what was mixed")
            self.stop_asked.set()
            if self._show is not None:
                self._show.interrupt()
            self._wake.set()

    def _commands(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self._parent_died()
                return
            try:
                self._command(message)
            except Exception as exc:  # a bad command is answered, never fatal to the show
                log.exception("UI command %r failed", message[:1])
                if message[0] == "desk":
                    self.send("reply", message[1], f"failed: {exc}", None)

    def _command(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        show = self._show
        if kind in ("stop", "interrupt"):
            self.stop_asked.set()
            if show is not None:
                show.stop() if kind == "stop" else show.interrupt()
            return
        if show is None or self._desk is None:
            if kind == "desk":
                self.send("reply", message[1], "the show is not running", None)
            return
        if kind == "restore":
            show.engine.restore_snapshot()
        elif kind == "desk":
            seq, method, args = message[1], message[2], message[3]
            if method == "apply_profile":
                result: Any = self._desk.apply_profile(*args)
            else:
                result = getattr(self._desk, method)(*args)
            self._applied = seq
            self.send("reply", seq, result, self._settings(force=True))

    def _settings(self, force: bool = False) -> tuple[list[ChannelSettings], str] | None:
        safety: SafetyStage = self._show.engine.safety
        version = safety._changes.count
        if not force and version == self._version:
            return None
        self._version = version
        return [replace(c) for c in safety.channels], safety.mode.value

    def _on_hop(self, snap: HopSnapshot) -> None:  # the engine thread: never waits
        self._slot = snap
        self._wake.set()

    def serve(
        self, show: Any, *, capture_channels: list[int] | None = None, live_profile: str = ""
    ) -> None:
        """Run `show` to its end on an engine thread, serving the UI meanwhile; returns when the
        show has ended (the caller writes its files)."""
        self._show = show
        engine = show.engine
        self._desk = OverrideDesk(engine.safety, show.names, engine.release)
        capture = capture_channels or show_capture_channels(show.source, len(show.names))
        settings, mode = self._settings(force=True) or ([], "auto")
        info = ShowInfo(
            names=list(show.names),
            title=show.title,
            colors=list(getattr(show, "colors", None) or []),
            model=model_label(show.gain_source),
            hop_s=engine.hop_s,
            ride=engine.safety.ride,
            sinks=[(s.name, getattr(s, "listen", False) is True) for s in show.sinks],
            learn=show.learn is not None,
            capture_channels=capture,
            settings=settings,
            mode=mode,
            pid=os.getpid(),
            live_profile=live_profile,
        )
        handler = _Forward(self._logs, self._wake)
        logging.getLogger().addHandler(handler)
        show.add_listener(self._on_hop)
        self.send("hello", info)
        error: list[str] = []

        def run() -> None:
            try:
                show.run()
            except Exception as exc:  # said to the UI, like the in-process app does
                log.exception("show failed")
                error.append(f"{type(exc).__name__}: {exc}")
                show.done.set()

        engine_thread = threading.Thread(target=run, name="engine", daemon=True)
        if self.stop_asked.is_set():
            show.interrupt() if self.parent_gone else show.stop()
        engine_thread.start()
        try:
            while not show.done.is_set() or self._slot is not None or self._logs:
                self._wake.wait(SEND_POLL_S)
                self._wake.clear()
                self._send_update()
        finally:
            engine_thread.join()
            logging.getLogger().removeHandler(handler)
        self.send("done", show.stats or engine.stats, error[0] if error else "")

    def _send_update(self) -> None:
        snap, self._slot = self._slot, None
        logs = []
        while self._logs:
            logs.append(self._logs.popleft())
        if snap is None and not logs:
            return
        show = self._show
        sinks = []
        for sink in show.sinks:
            try:
                sinks.append(f"{sink.name}: {sink.status()}")
            except Exception as exc:  # a broken status line must not stop the updates
                sinks.append(f"{sink.name}: status failed ({exc})")
        learn = show.learn.status() if show.learn is not None else ""
        self.send("update", Update(snap, self._applied, self._settings(), sinks, learn, logs))


_SERVER: Server | None = None


def serving() -> Server | None:
    """The server when this process is an engine child (the CLI's commands serve their show to
    the UI instead of drawing it)."""
    return _SERVER


def _child_main(conn: Connection, builder: str, payload: Any) -> None:
    """The child's entry point: `builder` ('module:function') builds the show from `payload`.
    A builder returns a Show (served here, then closed) or an exit status after serving it
    itself (a CLI command, which writes its own files)."""
    global _SERVER
    # The terminal belongs to the UI: Ctrl-C goes to the parent, which stops the show.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    out = io.StringIO()
    server = _SERVER = Server(conn)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    rc = 1
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            module, name = builder.split(":")
            result = getattr(importlib.import_module(module), name)(payload)
            if isinstance(result, int):
                rc = result
            else:
                server.serve(result)
                result.write_outputs()
                result.close()
                rc = 0
        except Exception as exc:
            from bridge.cli import CliError

            if isinstance(exc, CliError):
                server.send("error", str(exc), exc.exit_code)
            else:
                logging.getLogger(__name__).exception("engine process failed")
                server.send("error", f"{type(exc).__name__}: {exc}", 1)
            rc = 1 if not isinstance(exc, CliError) else exc.exit_code
    server.send("exit", rc, out.getvalue())
    conn.close()


def file_show(spec: dict[str, Any]) -> Any:
    """A builder for tests and benchmarks: a song folder in real time through a gain source
    (spec: song, gain_source, seconds, realtime, loop), no outputs, an optional journal folder."""
    from bridge.show import Show
    from bridge.sources import FileSource
    from models.gainsource import make_gain_source
    from models.song import load_song

    song = load_song(spec["song"], with_target=False)
    source = FileSource(
        song,
        realtime=spec.get("realtime", True),
        seconds=spec.get("seconds"),
        loop=spec.get("loop", False),
    )
    folder = Path(spec["folder"]) if spec.get("folder") else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return Show(
        source,
        make_gain_source(spec.get("gain_source", "autofader")),
        folder=folder,
        title=spec.get("title", "engine process"),
    )


# The UI's side.


class EngineGone(RuntimeError):
    """The engine process ended before it said the show had ended."""


class _Sink:
    def __init__(self, name: str, listen: bool) -> None:
        self.name = name
        self.listen = listen
        self.line = "waiting"

    def status(self) -> str:
        return self.line


class _Learn:
    def __init__(self) -> None:
        self.line = ""

    def status(self) -> str:
        return self.line


class _Engine:
    """What the app reads of an engine: its hop, latest snapshot, settings (a read-only mirror of
    the child's), stats (at the end); `restore_snapshot` and `release` go to the child."""

    def __init__(self, remote: RemoteShow, info: ShowInfo) -> None:
        self._remote = remote
        self.hop_s = info.hop_s
        self.latest: HopSnapshot | None = None
        self.safety = SafetyStage(len(info.names), info.hop_s, ride=info.ride)
        self.safety.channels = info.settings
        self.safety.mode = Mode(info.mode)
        self.stats = EngineStats()

    def restore_snapshot(self) -> None:
        self._remote.command("restore")

    def release(self, ch: int) -> None:
        self._remote.desk.release(ch)


class RemoteDesk:
    """The override desk as the app uses it; each action runs in the child and returns its
    status line."""

    def __init__(self, remote: RemoteShow) -> None:
        self._remote = remote
        self._local = OverrideDesk(remote.engine.safety, remote.names)

    def _call(self, method: str, *args: Any) -> Any:
        return self._remote.request(method, args)

    def toggle_freeze(self) -> str:
        return str(self._call("toggle_freeze"))

    def toggle_bypass(self) -> str:
        return str(self._call("toggle_bypass"))

    def toggle_lock(self, ch: int) -> str:
        return str(self._call("toggle_lock", ch))

    def nudge(self, ch: int, delta_db: float) -> str:
        return str(self._call("nudge", ch, delta_db))

    def set_manual(self, ch: int) -> str:
        return str(self._call("set_manual", ch))

    def release(self, ch: int) -> str:
        return str(self._call("release", ch))

    def undo(self) -> str:
        return str(self._call("undo"))

    def apply_profile(self, profile: Any, capture_channels: list[int]) -> ApplyResult:
        result = self._call("apply_profile", profile, capture_channels)
        if isinstance(result, ApplyResult):
            return result
        return ApplyResult([], list(range(len(self._remote.names))))

    def offsets_dropped(self, new_offsets: dict[int, float]) -> list[str]:
        return self._local.offsets_dropped(new_offsets)


class RemoteShow:
    """A show running in an engine process, as the TUI app uses a Show: `run()` (on the app's
    worker thread) receives the child's updates until the show ends; `stop()` from any thread."""

    def __init__(self, process: Any, conn: Connection, info: ShowInfo) -> None:
        self.process = process
        self.conn = conn
        self.names = info.names
        self.title = info.title
        self.colors = info.colors
        self.gain_source = SimpleNamespace(name=info.model)
        self.source = SimpleNamespace(channels=[c - 1 for c in info.capture_channels])
        self.capture_channels = info.capture_channels
        self.live_profile = info.live_profile
        self.pid = info.pid
        self.engine = _Engine(self, info)
        self.sinks = [_Sink(name, listen) for name, listen in info.sinks]
        self.learn = _Learn() if info.learn else None
        self.done = threading.Event()
        self.stats: EngineStats | None = None
        self.interrupted = False
        self.gone = ""
        """Why the engine process is gone when it ended before the show did ('' otherwise)."""
        self.exit_code: int | None = None
        self.output = ""
        """What the child printed (its end-of-show lines): the caller prints it after the UI."""
        self._listeners: list[Callable[[HopSnapshot], None]] = []
        self._send_lock = threading.Lock()
        self._seq = 0
        self._replied = 0
        self._replies: dict[int, Any] = {}
        self._reply_ready = threading.Condition()
        self._drainer: threading.Thread | None = None
        self.desk = RemoteDesk(self)

    def make_desk(self) -> RemoteDesk:
        return self.desk

    def add_listener(self, fn: Callable[[HopSnapshot], None]) -> None:
        self._listeners.append(fn)

    def command(self, *message: Any) -> bool:
        if self.done.is_set() and message[0] != "stop":
            return False
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, EOFError, BrokenPipeError):
            return False
        return True

    def stop(self) -> None:
        self.command("stop")

    def interrupt(self) -> None:
        self.interrupted = True
        self.command("interrupt")

    def request(self, method: str, args: tuple[Any, ...]) -> Any:
        """A desk action run in the child; waits for its answer (the action, then its settings)."""
        if self.gone:
            return f"{self.gone}: nothing applied"
        if self.done.is_set():
            return "the show has ended: nothing applied"
        with self._send_lock:
            self._seq += 1
            seq = self._seq
        if not self.command("desk", seq, method, args):
            return "the engine process does not listen: nothing applied"
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        with self._reply_ready:
            while seq not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.done.is_set():
                    return "no answer from the engine process yet (it may still apply it)"
                self._reply_ready.wait(left)
            return self._replies.pop(seq)

    def _take_settings(self, settings: tuple[list[ChannelSettings], str] | None) -> None:
        if settings is not None:
            safety = self.engine.safety
            safety.channels, safety.mode = settings[0], Mode(settings[1])

    def run(self) -> EngineStats:
        """Receive until the show ends; raises EngineGone when the child dies first."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self._lost()
                raise EngineGone(self.gone) from None
            kind = message[0]
            if kind == "update":
                self._update(message[1])
            elif kind == "reply":
                _, seq, result, settings = message
                self._take_settings(settings)
                with self._reply_ready:
                    self._replied = max(self._replied, seq)
                    self._replies[seq] = result
                    self._reply_ready.notify_all()
            elif kind == "done":
                self.stats = self.engine.stats = message[1]
                self.done.set()
                self._drainer = threading.Thread(
                    target=self._drain, name="engine-exit", daemon=True
                )
                self._drainer.start()
                if message[2]:
                    raise RuntimeError(message[2])
                return self.stats
            elif kind == "exit":  # the show never started serving
                self.exit_code, self.output = message[1], message[2]
                self.done.set()
                return self.engine.stats

    def _update(self, update: Update) -> None:
        if update.applied >= self._replied:  # not older than what a reply already gave
            self._take_settings(update.settings)
        for sink, line in zip(self.sinks, update.sinks, strict=False):
            sink.line = line.split(": ", 1)[-1] if line.startswith(f"{sink.name}: ") else line
        if self.learn is not None:
            self.learn.line = update.learn
        for name, level, text in update.logs:
            logging.getLogger(name).log(level, "%s", text)
        if update.snapshot is not None:
            self.engine.latest = update.snapshot
            for fn in self._listeners:
                fn(update.snapshot)

    def _drain(self) -> None:
        """After the show: the child's exit status and what it printed."""
        with contextlib.suppress(EOFError, OSError):
            while True:
                message = self.conn.recv()
                if message[0] == "exit":
                    self.exit_code, self.output = message[1], message[2]
                    return

    def _lost(self) -> None:
        self.process.join(1.0)
        code = self.process.exitcode
        self.gone = (
            f"{GONE} (exit code {code}): nothing moves the faders any more; "
            "they stay where the console has them"
        )
        log.error("%s", self.gone)
        last = self.engine.latest
        if last is not None:
            snap = replace(
                last, link=f"fault: {GONE}", last_fault=self.gone, faults=last.faults + 1
            )
            self.engine.latest = snap
            for fn in self._listeners:
                fn(snap)
        with self._reply_ready:
            self._reply_ready.notify_all()
        self.done.set()

    def close(self, timeout_s: float = 30.0) -> int | None:
        """Stop the show if it still runs, wait for the child to write its files and end."""
        self.stop()
        self.process.join(timeout_s)
        if self.process.is_alive():
            log.error("the engine process did not end in %.0f s: terminating it", timeout_s)
            self.process.terminate()
            self.process.join(5.0)
        if self._drainer is not None:
            self._drainer.join(5.0)
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.exit_code is None and self.process.exitcode is not None:
            self.exit_code = self.process.exitcode
        return self.exit_code


class StartError(RuntimeError):
    """The child could not build its show: `code` is the exit status it gave."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def start(builder: str, payload: Any, timeout_s: float = START_TIMEOUT_S) -> RemoteShow:
    """Spawn the engine process, wait until its show exists, and return the UI's proxy of it.
    Raises StartError when the child fails before (with its one-line error and exit status)."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=True)
    process = ctx.Process(
        target=_child_main, args=(theirs, builder, payload), name="ailive-engine", daemon=True
    )
    process.start()
    theirs.close()
    deadline = time.monotonic() + timeout_s
    output = ""
    while time.monotonic() < deadline:
        if not ours.poll(0.2):
            if not process.is_alive() and not ours.poll(0.0):
                break
            continue
        try:
            message = ours.recv()
        except (EOFError, OSError):
            break
        if message[0] == "hello":
            return RemoteShow(process, ours, message[1])
        if message[0] == "error":
            process.join(10.0)
            raise StartError(message[1], message[2])
        if message[0] == "exit":
            output = message[2]
            break
    process.join(1.0)
    if process.is_alive():
        process.terminate()
        process.join(5.0)
    detail = output.strip().splitlines()[-1] if output.strip() else f"exit code {process.exitcode}"
    raise StartError(f"the engine process did not start its show ({detail})", 1)


def print_output(remote: RemoteShow) -> None:
    if remote.output:
        sys.stdout.write(remote.output)
        sys.stdout.flush()
