"""What each `ailive` verb does. Heavy imports stay inside the functions so `--help` is quick."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from bridge.cli import CliError, print_json
from bridge.config import TORCH_THREADS
from bridge.engine import HopSnapshot
from bridge.mixdown import MixOutput
from bridge.show import Show
from models.gainsource import GainSource
from models.song import Song

log = logging.getLogger("ailive")


def cmd_devices(args: argparse.Namespace) -> int:
    from bridge.devices import AudioBackendError, as_dict, describe, list_devices

    try:
        devices = list_devices()
    except AudioBackendError as exc:
        print(str(exc))
        return 0 if not args.json else _json_empty(str(exc))
    if args.json:
        print_json([as_dict(d) for d in devices])
    else:
        print(describe(devices))
    return 0


def _json_empty(message: str) -> int:
    print_json({"devices": [], "error": message})
    return 0


def _load_song(folder: Path) -> Song:
    from bridge.config import SAMPLE_RATE
    from models.song import SongError, load_song

    if not folder.exists():
        raise CliError(f"{folder}: no such folder")
    try:
        song = load_song(folder)
    except SongError as exc:
        raise CliError(str(exc)) from exc
    if song.sample_rate != SAMPLE_RATE:
        raise CliError(
            f"{folder}: the channels are at {song.sample_rate} Hz; AiLive mixes at {SAMPLE_RATE} "
            f"Hz as consoles send it (resample them, e.g. `sox in.flac -r {SAMPLE_RATE} out.flac`)"
        )
    return song


def _gain_source(name: str | None) -> GainSource:
    from models.gainsource import make_gain_source

    try:
        source = make_gain_source(name)
    except (ValueError, FileNotFoundError) as exc:  # a CheckpointError is a ValueError
        raise CliError(str(exc)) from exc
    torch = sys.modules.get("torch")  # only a network gain source brings torch in
    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)
    return source


def _roles(
    spec: str, channels: list[int], names: list[str], known: list[str] | None = None
) -> list[str | None]:
    from bridge.channels import parse_roles

    try:
        return parse_roles(spec, channels, names, known)
    except ValueError as exc:
        raise CliError(f"--roles: {exc}") from exc


def _progress_printer(show: Show, every_s: float = 2.0) -> Callable[[HopSnapshot], None]:
    """A listener that logs a compact line of sent gains every `every_s` of audio; a channel
    the activity gate holds (only bleed on it) is marked `q`."""
    names = [n[:6] for n in show.names]
    hops_per_line = max(1, round(every_s / show.engine.hop_s))

    def on_hop(snap: HopSnapshot) -> None:
        if (snap.index + 1) % hops_per_line:
            return
        quiet = set(snap.quiet)
        gains = "  ".join(
            f"{n} {g:+5.1f}{'q' if i in quiet else ' '}"
            for i, (n, g) in enumerate(zip(names, snap.sent_db, strict=False))
        )
        legend = "  (q: only bleed, held)" if quiet else ""
        log.info(
            "t=%6.2fs  %s [%.2f ms/hop, %d misses]%s",
            snap.t,
            gains,
            snap.compute_ms,
            snap.misses,
            legend,
        )

    return on_hop


def _mix_player(device: str | None) -> list[MixOutput]:
    """The sound card for direct mode, when asked for."""
    if device is None:
        return []
    from bridge.devices import AudioBackendError
    from bridge.playback import MixPlayer

    try:
        return [MixPlayer(device)]
    except AudioBackendError as exc:
        raise CliError(str(exc), exit_code=1) from exc


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_WAIT_S = 1.0
"""After a stop, how long the engine's thread may take to finish its hop before the outputs are
written anyway (it is a daemon: a capture stuck in the driver cannot hold the exit)."""


@contextmanager
def _interrupt_on_signals(show: Show, also: Callable[[], None] | None = None) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP end the show the same way: stopped_by "interrupted", exit 130,
    what was mixed is kept. A second signal gives up at once (the journal still has it all)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if show.interrupted:
            raise KeyboardInterrupt
        log.warning("%s: stopping the show, keeping what was mixed", signal.Signals(signum).name)
        show.interrupt()
        if also is not None:
            also()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_show(
    show: Show,
    *,
    headless: bool,
    exit_when_done: bool,
    seconds: float | None = None,
    live_profile: str = "",
    capture_channels: list[int] | None = None,
) -> None:
    """Runs the show on a worker thread (the TUI's, or our own) until it ends, `seconds` pass
    or a signal stops it; the main thread stays free to take the signal at once."""
    from bridge.engine_process import serving
    from bridge.trace import attach

    attach(show)  # for the gains picture written at the end
    timer = threading.Timer(seconds, show.stop) if seconds else None
    if timer is not None:
        timer.daemon = True  # never holds the exit (it did: 25 s after Ctrl-C)
    use_tui = not headless and sys.stdout.isatty() and sys.stdin.isatty()
    server = serving()
    try:
        if server is not None:  # an engine process: the TUI in the parent draws this show
            if timer is not None:
                timer.start()
            server.serve(show, capture_channels=capture_channels, live_profile=live_profile)
        elif use_tui:
            _run_tui(show, timer, exit_when_done, live_profile, capture_channels)
        else:
            _run_headless(show, timer)
    finally:
        if timer is not None:
            timer.cancel()


def _run_tui(
    show: Show,
    timer: threading.Timer | None,
    exit_when_done: bool,
    live_profile: str,
    capture_channels: list[int] | None,
) -> None:
    from bridge.log import console_logging_to
    from bridge.tui.app import make_app
    from bridge.tui.log_screen import TuiLogHandler

    app = make_app(
        show,
        exit_when_done=exit_when_done,
        live_profile=live_profile,
        capture_channels=capture_channels,
    )

    def quit_app() -> None:  # from a signal handler: hand the exit to the app's loop
        try:
            asyncio.get_running_loop().call_soon_threadsafe(app.exit)
        except RuntimeError:  # the loop is not running (yet, or any more)
            app.exit()

    with _interrupt_on_signals(show, also=quit_app), console_logging_to(TuiLogHandler(app)):
        if timer is not None:
            timer.start()
        app.run()
    show.stop()
    show.done.wait(2.0)


def _tui_wanted(args: argparse.Namespace) -> bool:
    """The TUI draws this command's show: then the show runs in an engine process."""
    from bridge.engine_process import serving

    tty = sys.stdout.isatty() and sys.stdin.isatty()
    return tty and not args.headless and serving() is None


def serve_command(payload: tuple[str, argparse.Namespace]) -> int:
    """The engine process's builder for `ailive demo/run --tui`: the command itself, whose show
    is served to the TUI in the parent (see `_run_show`)."""
    verb, args = payload
    return int(COMMANDS[verb](args) or 0)


def _tui_with_engine_process(verb: str, args: argparse.Namespace) -> int:
    """The TUI here, the command (capture, model, outputs, journal) in an engine process."""
    from bridge import engine_process
    from bridge.log import console_logging_to
    from bridge.tui.app import make_app
    from bridge.tui.log_screen import TuiLogHandler

    try:
        remote = engine_process.start("bridge.commands:serve_command", (verb, args))
    except engine_process.StartError as exc:
        raise CliError(str(exc), exit_code=exc.code) from exc
    show = cast(Show, remote)  # the proxy gives the app what it uses of a Show
    app = make_app(
        show,
        exit_when_done=args.seconds is not None,
        live_profile=remote.live_profile,
        capture_channels=remote.capture_channels,
    )

    def quit_app() -> None:  # from a signal handler: hand the exit to the app's loop
        try:
            asyncio.get_running_loop().call_soon_threadsafe(app.exit)
        except RuntimeError:
            app.exit()

    with _interrupt_on_signals(show, also=quit_app), console_logging_to(TuiLogHandler(app)):
        app.run()
    rc = remote.close()
    engine_process.print_output(remote)
    if remote.gone:
        print(f"error: {remote.gone}", file=sys.stderr)
        return 1
    return 130 if remote.interrupted and not rc else int(rc or 0)


def _run_headless(show: Show, timer: threading.Timer | None) -> None:
    show.add_listener(_progress_printer(show))
    failure: list[BaseException] = []

    def engine() -> None:
        try:
            show.run()
        except BaseException as exc:  # raised again on the main thread
            failure.append(exc)

    runner = threading.Thread(target=engine, name="engine", daemon=True)
    with _interrupt_on_signals(show):
        runner.start()
        if timer is not None:
            timer.start()
        while runner.is_alive() and not show.interrupted:
            runner.join(0.1)
        runner.join(STOP_WAIT_S)
    if failure:
        raise failure[0]


def _human_hold(args: argparse.Namespace) -> float | None:
    """--human-hold, or the headless default: without the TUI nobody can press release."""
    from bridge.cli import HEADLESS_HUMAN_HOLD_S

    if args.human_hold is not None:
        return float(args.human_hold)
    from bridge.engine_process import serving

    tty = sys.stdout.isatty() and sys.stdin.isatty()
    headless = args.headless or (serving() is None and not tty)
    return HEADLESS_HUMAN_HOLD_S if headless else None


def _snapshot(
    show: Show, sink: object, profile: str, host: str, port: int, channels: list[int]
) -> None:
    """Write the soundcheck snapshot (what the output read at connect) into the show folder."""
    from bridge.restore import Snapshot, write_snapshot

    report = getattr(sink, "link_report", None)
    if show.folder is None or report is None:
        return
    levels = list(report().held_db)
    path = write_snapshot(show.folder, Snapshot(profile, host, port, channels, show.names, levels))
    log.info("soundcheck snapshot: %s (put it back with `ailive restore %s`)", path, show.folder)


def _wire(show: Show, sink: object, args: argparse.Namespace) -> None:
    """The output's callbacks into the engine: a person's move, a release from the console."""
    sink.on_human_move = show.engine.human_move  # type: ignore[attr-defined]
    if hasattr(sink, "on_release"):
        sink.on_release = show.engine.release


def _end_of_show(show: Show, args: argparse.Namespace) -> None:
    if getattr(args, "restore_at_end", False):
        reached = show.engine.glide_to_snapshot()
        log.info("snapshot %s", "restored" if reached else "not reached in time")


def _learn_tap(source: Any, args: argparse.Namespace) -> Any:
    """With --learn the source is tapped, so the recorder gets every captured hop."""
    if not getattr(args, "learn", False):
        return source
    from bridge.recorder import LearnTap

    return LearnTap(source)


def _attach_learn(show: Show, sinks: list[Any], listen: bool) -> None:
    from bridge.recorder import LearnTap, attach_recorder

    if isinstance(show.source, LearnTap):
        attach_recorder(show, show.source, sinks, listen)
        log.info("learn mode: recording the channels and the faders into %s", show.folder)


def _check_out(out: Path) -> None:
    """`--out` must be a folder (or not exist yet): said before anything starts."""
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out}: is a file; give a folder (each show gets a subfolder)")


def _show_folder(out: Path) -> Path:
    from bridge.journal import JournalError, new_show_dir

    try:
        return new_show_dir(out)
    except JournalError as exc:
        raise CliError(str(exc)) from exc


def _finish(show: Show) -> int:
    """Write the end-of-show files, close the outputs; 130 when a signal ended the show."""
    from bridge.show_pictures import write_pictures

    outputs = show.write_outputs()
    show.close()
    if outputs.folder is not None:
        print(f"    show: {outputs.folder}")
    folder = outputs.folder
    pictures = write_pictures(show, folder / "trace.npz", folder / "gains.png") if folder else {}
    for label, path in (
        ("mix", outputs.mix_wav),
        ("gains", outputs.gains_csv),
        ("summary", outputs.summary_json),
        ("plot", pictures.get("plot")),
        ("reaper", outputs.rpp),
        ("log", outputs.log),
    ):
        if path is not None:
            print(f"{label:>8}: {path}")
    if show.engine.stats.fallback:
        print(f"fallback: {show.engine.stats.fallback}")
    if show.interrupted:
        print("interrupted: the show was stopped by a signal", file=sys.stderr)
        return 130
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bridge.outputs.x32.client import X32Client
    from bridge.sources import FileSource
    from bridge.virtual_console import VirtualConsole

    if _tui_wanted(args):
        return _tui_with_engine_process("demo", args)
    _check_out(args.out)
    gain_source = _gain_source(args.gain_source)
    song = _load_song(args.song)
    source = _learn_tap(FileSource(song, realtime=not args.fast, seconds=args.seconds), args)
    n = source.n_channels
    if n > 32:
        raise CliError(f"the virtual X32 has 32 channels; this song has {n}")
    from bridge.virtual_console import parse_faders

    known = [c.role for c in song.meta.channels]
    roles = _roles(args.roles, list(range(n)), list(song.names), known)
    try:
        faders = parse_faders(args.faders)
    except ValueError as exc:
        raise CliError(f"--faders: {exc}") from exc
    console = VirtualConsole(
        port=args.console_port,
        channels=32,
        names=[name[:12] for name in song.names],
        faders_db=faders,
    )
    try:
        console.start()
    except OSError as exc:
        raise CliError(
            f"cannot open the virtual console on UDP port {args.console_port}: {exc.strerror}",
            exit_code=1,
        ) from exc
    host, port = console.address
    log.info("virtual X32 console listening on %s:%d", host, port)
    client = X32Client(host, port, channels=list(range(1, n + 1)), listen=args.mode == "listen")
    try:
        client.connect()
    except ConnectionError as exc:
        console.stop()
        raise CliError(str(exc), exit_code=1) from exc
    names = [nm or fallback for nm, fallback in zip(client.names, song.names, strict=False)]
    title = str(song.meta.extra.get("title", args.song.name))
    from models.song import channel_files

    try:
        show = Show(
            source,
            gain_source,
            sinks=[client],
            folder=_show_folder(args.out),
            names=names,
            title=f"demo: {title}",
            mix_outputs=_mix_player(args.play),
            human_hold_s=_human_hold(args),
            ride="relative" if args.mode == "relative" else "absolute",
            start_frozen=args.start_frozen,
            rpp_sources=channel_files(args.song),
            roles=roles,
        )
    except CliError:
        client.close()
        console.stop()
        raise
    if args.fast:  # nothing waits for the hops of an as-fast-as-possible run: no deadline
        show.engine.deadline_s = math.inf
    _attach_learn(show, [client], args.mode == "listen")
    _wire(show, client, args)
    _snapshot(show, client, "virtual-x32", host, port, list(range(n)))
    log.info(
        "mixing %d channels of %r with %s (%s)",
        n,
        title,
        gain_source.name,
        "as fast as possible" if args.fast else "real time",
    )
    try:
        _run_show(show, headless=args.headless, exit_when_done=args.seconds is not None)
        _end_of_show(show, args)
        rc = _finish(show)
        faders = [console.fader_db(ch) for ch in range(1, n + 1)]
        print(
            "  faders: "
            + "  ".join(f"{nm[:8]} {db:+.1f}" for nm, db in zip(names, faders, strict=True))
        )
    finally:
        console.stop()
    return rc


def cmd_render(args: argparse.Namespace) -> int:
    from bridge.progress import Progress
    from bridge.show_pictures import write_render_files
    from bridge.sources import FileSource
    from bridge.trace import attach

    gain_source = _gain_source(args.gain_source)
    song = _load_song(args.folder)
    out: Path = args.out
    if out.suffix.lower() not in (".wav", ".flac"):
        raise CliError(f"--out {out}: give a .wav or .flac file name")
    if out.is_dir():
        raise CliError(f"--out {out}: is a folder; give a .wav or .flac file name")
    source = FileSource(song, realtime=False, seconds=args.seconds)  # offline: no deadline
    title = str(song.meta.extra.get("title", args.folder.name))
    show = Show(source, gain_source, title=title)
    attach(show)
    length = song.seconds if args.seconds is None else min(song.seconds, args.seconds)
    progress = Progress(length, "render", unit=" s")
    show.add_listener(lambda snap: progress.update(snap.t))
    stats = show.run()
    progress.done()
    assert show.recorder is not None
    show.recorder.write(out)
    gains = args.gains or out.with_suffix(".gains.csv")
    show.automation.write_csv(gains)
    show.close()
    files = write_render_files(show, stats, out, gains)
    for label, path in files.items():
        print(f"{label:>8}: {path}")
    if args.rpp:
        print(f"  reaper: {_write_rpp(args.rpp, args.folder, song, show)}")
    print(
        f"  {stats.hops} hops, compute p50 {stats.percentile_ms(50):.2f} ms, "
        f"p99 {stats.percentile_ms(99):.2f} ms per 50 ms hop (offline: no deadline)"
    )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from bridge.plot import PlotUnavailable, plot

    try:
        path = plot(args.path, args.out)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    except PlotUnavailable as exc:
        raise CliError(str(exc), exit_code=1) from exc
    print(f"    plot: {path}")
    return 0


def _write_rpp(path: Path, folder: Path, song: Song, show: Show) -> str:
    """The render's automation as REAPER envelopes, with the channel files as items."""
    import numpy as np

    from bridge.outputs.rpp.writer import RppError, write_automation
    from models.song import channel_files

    try:
        result = write_automation(
            path,
            song.names,
            np.asarray(show.automation.times),
            show.automation.as_array(),
            sources=[p.resolve() for p in channel_files(folder)],
            length_s=song.seconds,
        )
    except (OSError, RppError) as exc:
        raise CliError(f"--rpp {path}: {exc}", exit_code=1) from exc
    backup = f" (previous version kept as {result.backup})" if result.backup else ""
    return f"{path}: {result.points} envelope points{backup}"


def cmd_run(args: argparse.Namespace) -> int:
    from bridge.capture import CaptureSource
    from bridge.channels import parse_channels
    from bridge.devices import AudioBackendError
    from bridge.live_profile import apply_profile_limits
    from bridge.outputs.base import GainSink
    from bridge.profiles import ProfileError, find_profile

    if _tui_wanted(args):
        return _tui_with_engine_process("run", args)
    _check_out(args.out)
    try:
        profile = find_profile(args.profile)
    except ProfileError as exc:
        raise CliError(str(exc)) from exc
    if args.channels:
        try:
            channels = parse_channels(args.channels)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    else:
        channels = [c.capture - 1 for c in profile.channels]
    strips = {c.capture - 1: c for c in profile.channels}
    missing = [c + 1 for c in channels if c not in strips]
    if missing and not args.no_console:
        raise CliError(f"capture channels {missing} are not in profile {profile.name!r}")
    if args.mode:
        profile.mode = args.mode
    gain_source = _gain_source(args.gain_source)
    names = [strips[c].name if c in strips and strips[c].name else f"Ch {c + 1}" for c in channels]
    try:
        source = _learn_tap(CaptureSource(args.device, channels, names=names), args)
    except (AudioBackendError, ValueError) as exc:
        raise CliError(str(exc), exit_code=1) from exc
    sinks: list[GainSink] = []
    client = None
    if not args.no_console:
        from bridge.outputs.factory import SinkError, make_sink

        try:
            client = make_sink(profile, channels, host=args.host, port=args.port)
        except SinkError as exc:
            source.close()
            raise CliError(str(exc), exit_code=1) from exc
        names = [nm or fallback for nm, fallback in zip(client.names, names, strict=False)]
        sinks.append(client)
    if args.rpp:
        from bridge.outputs.rpp.writer import RppRecorder

        sinks.append(RppRecorder(args.rpp, names))  # "record automation": written at the end
    try:
        show = Show(
            source,
            gain_source,
            sinks=sinks,
            folder=_show_folder(args.out),
            names=names,
            title=f"live: {profile.name}",
            mix_outputs=_mix_player(args.play),
            human_hold_s=_human_hold(args),
            ride="relative" if profile.mode == "relative" else "absolute",
            start_frozen=args.start_frozen,
            deadline_policy=profile.deadline,
            gate=profile.activity.gate(),
            roles=_roles(args.roles, channels, names),
        )
    except CliError:
        for sink in sinks:
            sink.close()
        source.close()
        raise
    _attach_learn(show, sinks, profile.mode == "listen")
    if client is not None:
        _wire(show, client, args)
        _snapshot(
            show,
            client,
            str(profile.path),
            args.host or profile.host,
            args.port or profile.port,
            channels,
        )
    capture = [c + 1 for c in channels]
    log.info(apply_profile_limits(show.engine.safety, profile, capture).describe(profile.name))
    _run_show(
        show,
        headless=args.headless,
        exit_when_done=args.seconds is not None,
        seconds=args.seconds,
        live_profile=profile.name,
        capture_channels=capture,
    )
    _end_of_show(show, args)
    return _finish(show)


def cmd_profiles(args: argparse.Namespace) -> int:
    from bridge.profiles import ProfileError, discover, find_profile, load_profile, shadowed

    if args.action == "list":
        good, bad = discover()
        hidden = shadowed(good)
        shadows = {winner.path: path for path, winner in hidden.items()}
        for p in good:
            note = ""
            if p.path in hidden:
                note = f"  (hidden: {hidden[p.path].path} has the same name)"
            elif p.path in shadows:
                note = f"  (yours: used instead of {shadows[p.path]})"
            print(f"{p.path.stem:<20} {p.output:<7} {len(p.channels):>3} ch  {p.description}{note}")
        for err in bad:
            print(f"BAD  {err}")
        if not good and not bad:
            print("no profiles found")
        return 0
    if args.action == "show":
        try:
            p = find_profile(args.name)
        except ProfileError as exc:
            raise CliError(str(exc)) from exc
        from bridge.profile_show import describe

        print(describe(p))
        return 0
    failed = 0
    for path in args.files:
        try:
            p = load_profile(path)
        except ProfileError as exc:
            print(f"BAD  {exc}")
            failed += 1
        else:
            print(f"ok   {path}: {p.name}, {p.output}, {len(p.channels)} channels")
    return 2 if failed else 0


def cmd_recover(args: argparse.Namespace) -> int:
    from bridge.journal import RPP, SUMMARY
    from bridge.recover import RecoverError, needs_recovery, recover

    folder: Path = args.folder
    if folder.is_dir() and not needs_recovery(folder):
        print(f"{folder}: the show finished ({SUMMARY} is there); nothing to recover")
        return 0
    try:
        summary = recover(folder)
    except RecoverError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"{folder}: {summary['hops']} hops ({summary['seconds']:.1f} s) recovered, "
        f"stopped by: {summary['stopped_by']}"
    )
    print(f" summary: {folder / SUMMARY}\n  reaper: {folder / RPP}")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bridge.virtual_console import main as console_main

    argv = ["--host", args.host, "--port", str(args.port), "--channels", str(args.channels)]
    if args.faders:
        argv += ["--faders", args.faders]
    argv += ["-v"] * args.verbose
    return console_main(argv)


def cmd_restore(args: argparse.Namespace) -> int:
    from bridge.outputs.factory import SinkError, make_sink
    from bridge.profiles import ProfileError, find_profile
    from bridge.restore import SnapshotError, glide_back, read_snapshot

    try:
        snap = read_snapshot(args.showdir)
        profile = find_profile(snap.profile)
    except (SnapshotError, ProfileError) as exc:
        raise CliError(str(exc)) from exc
    profile.mode = "absolute"
    try:
        sink = make_sink(
            profile, snap.channels, host=args.host or snap.host, port=args.port or snap.port
        )
    except SinkError as exc:
        raise CliError(str(exc), exit_code=1) from exc
    try:
        reached = glide_back(sink, snap.levels_db)
    finally:
        sink.close()
    levels = "  ".join(
        f"{n[:8]} {v:+.1f}"
        for n, v in zip(snap.names, snap.levels_db, strict=True)
        if v is not None
    )
    print(f"{'restored' if reached else 'NOT fully restored'}: {levels}")
    return 0 if reached else 1


__all__ = [
    "cmd_console",
    "cmd_demo",
    "cmd_devices",
    "cmd_plot",
    "cmd_profiles",
    "cmd_recover",
    "cmd_render",
    "cmd_restore",
    "cmd_run",
]


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"demo": cmd_demo, "run": cmd_run}
"""The commands whose show runs in an engine process under the TUI."""
