"""What each `ailive` verb does. Heavy imports stay inside the functions so `--help` is quick."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

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
    from models.song import SongError, load_song

    if not folder.exists():
        raise CliError(f"{folder}: no such folder")
    try:
        return load_song(folder)
    except SongError as exc:
        raise CliError(str(exc)) from exc


def _gain_source(name: str | None) -> GainSource:
    from models.gainsource import make_gain_source

    try:
        source = make_gain_source(name)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    torch = sys.modules.get("torch")  # only a network gain source brings torch in
    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)
    return source


def _progress_printer(show: Show, every_s: float = 2.0) -> Callable[[HopSnapshot], None]:
    """A listener that logs a compact line of sent gains every `every_s` of audio."""
    names = [n[:6] for n in show.names]
    hops_per_line = max(1, round(every_s / show.engine.hop_s))

    def on_hop(snap: HopSnapshot) -> None:
        if (snap.index + 1) % hops_per_line:
            return
        gains = "  ".join(f"{n} {g:+5.1f}" for n, g in zip(names, snap.sent_db, strict=False))
        log.info(
            "t=%6.2fs  %s  [%.2f ms/hop, %d misses]", snap.t, gains, snap.compute_ms, snap.misses
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


def _run_show(
    show: Show,
    *,
    headless: bool,
    exit_when_done: bool,
    live_profile: str = "",
    capture_channels: list[int] | None = None,
) -> None:
    from bridge.trace import attach

    attach(show)  # for the gains picture written at the end
    use_tui = not headless and sys.stdout.isatty() and sys.stdin.isatty()
    if use_tui:
        from bridge.tui.app import make_app

        make_app(
            show,
            exit_when_done=exit_when_done,
            live_profile=live_profile,
            capture_channels=capture_channels,
        ).run()
        show.stop()
        show.done.wait(2.0)
    else:
        show.add_listener(_progress_printer(show))
        try:
            show.run()
        except KeyboardInterrupt:
            show.stop()
            log.warning("interrupted: writing what was mixed so far")


def _finish(show: Show) -> None:
    from bridge.show_pictures import write_pictures

    outputs = show.write_outputs()
    show.close()
    folder = outputs.summary_json.parent if outputs.summary_json else None
    pictures = write_pictures(show, folder / "trace.npz", folder / "gains.png") if folder else {}
    for label, path in (
        ("mix", outputs.mix_wav),
        ("gains", outputs.gains_csv),
        ("summary", outputs.summary_json),
        ("plot", pictures.get("plot")),
    ):
        if path is not None:
            print(f"{label:>8}: {path}")


def cmd_demo(args: argparse.Namespace) -> int:
    from bridge.outputs.x32 import X32Client
    from bridge.sources import FileSource
    from bridge.virtual_console import VirtualConsole

    gain_source = _gain_source(args.gain_source)
    song = _load_song(args.song)
    source = FileSource(song, realtime=not args.fast, seconds=args.seconds)
    n = source.n_channels
    if n > 32:
        raise CliError(f"the virtual X32 has 32 channels; this song has {n}")
    console = VirtualConsole(
        port=args.console_port, channels=32, names=[name[:12] for name in song.names]
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
    client = X32Client(host, port, channels=list(range(1, n + 1)))
    try:
        client.connect()
    except ConnectionError as exc:
        console.stop()
        raise CliError(str(exc), exit_code=1) from exc
    names = [nm or fallback for nm, fallback in zip(client.names, song.names, strict=False)]
    title = str(song.meta.extra.get("title", args.song.name))
    show = Show(
        source,
        gain_source,
        sinks=[client],
        out_dir=args.out,
        names=names,
        title=f"demo: {title}",
        mix_outputs=_mix_player(args.play),
        human_hold_s=args.human_hold,
    )
    client.on_human_move = show.engine.human_move
    log.info(
        "mixing %d channels of %r with %s (%s)",
        n,
        title,
        gain_source.name,
        "as fast as possible" if args.fast else "real time",
    )
    try:
        _run_show(show, headless=args.headless, exit_when_done=args.seconds is not None)
        _finish(show)
        faders = [console.fader_db(ch) for ch in range(1, n + 1)]
        print(
            "  faders: "
            + "  ".join(f"{nm[:8]} {db:+.1f}" for nm, db in zip(names, faders, strict=True))
        )
    finally:
        console.stop()
    return 0


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
    source = FileSource(song, realtime=False, seconds=args.seconds)
    title = str(song.meta.extra.get("title", args.folder.name))
    show = Show(source, gain_source, out_dir=None, title=title)
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

    from bridge.outputs.rpp_writer import RppError, write_automation
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
    gain_source = _gain_source(args.gain_source)
    names = [strips[c].name if c in strips and strips[c].name else f"Ch {c + 1}" for c in channels]
    try:
        source = CaptureSource(args.device, channels, names=names)
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
        from bridge.outputs.rpp_writer import RppRecorder

        sinks.append(RppRecorder(args.rpp, names))  # "record automation": written at the end
    show = Show(
        source,
        gain_source,
        sinks=sinks,
        out_dir=args.out,
        names=names,
        title=f"live: {profile.name}",
        mix_outputs=_mix_player(args.play),
        human_hold_s=args.human_hold,
    )
    if client is not None:
        client.on_human_move = show.engine.human_move
    capture = [c + 1 for c in channels]
    log.info(apply_profile_limits(show.engine.safety, profile, capture).describe(profile.name))
    if args.seconds:
        import threading

        threading.Timer(args.seconds, show.stop).start()
    _run_show(
        show,
        headless=args.headless,
        exit_when_done=args.seconds is not None,
        live_profile=profile.name,
        capture_channels=capture,
    )
    _finish(show)
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from bridge.profiles import ProfileError, discover, find_profile, load_profile

    if args.action == "list":
        good, bad = discover()
        for p in good:
            print(f"{p.path.stem:<20} {p.output:<7} {len(p.channels):>3} ch  {p.description}")
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


def cmd_console(args: argparse.Namespace) -> int:
    from bridge.virtual_console import main as console_main

    argv = ["--host", args.host, "--port", str(args.port), "--channels", str(args.channels)]
    argv += ["-v"] * args.verbose
    return console_main(argv)


__all__ = [
    "cmd_console",
    "cmd_demo",
    "cmd_devices",
    "cmd_plot",
    "cmd_profiles",
    "cmd_render",
    "cmd_run",
]
