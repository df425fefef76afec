"""What one TUI frame costs on the UI thread at 32 channels, with the engine running in real time.

Runs the mixer app headless (Textual's `run_test`) on a synthetic real-time show (noise, the
auto-fader, 20 hops a second) and measures, per frame:
  - update: the HopUpdate handler redrawing the strips and the master panel (the mixer's draw);
  - refresh: Textual's screen update that follows (layout if needed, compositing the changed
    lines), including turning them into terminal bytes as a real terminal driver would;
  - the UI thread's CPU time over the run, per frame drawn;
and how far behind the engine the drawn hop was, and the engine's deadline misses meanwhile.
With `--gain-source NAME` the show runs that gain source instead, and the engine's compute per
hop with the TUI open is set beside a headless run of the same show (the TUI's cost to the
engine). Results go to benchmarks/results/tui_frame.md.

    .venv/bin/python -m benchmarks.tui_frame [--seconds 6] [--gain-source alm-mr]

With `--engine-process` the show runs in its own process (bridge.engine_process, as `ailive demo
--tui` runs it) and the engine's compute per hop comes from the child's stats; results go to
benchmarks/results/tui_frame_process.md. `--minutes M` (with --engine-process) is the long
real-time run: 32 channels at 330x45 for M minutes, every deadline miss counted, results in
benchmarks/results/tui_frame_long.md.

    .venv/bin/python -m benchmarks.tui_frame --engine-process --gain-source alm-mr
    nice -n 10 .venv/bin/python -m benchmarks.tui_frame --engine-process --minutes 10 \
        --gain-source alm-mr
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from rich.console import Console
from textual import __version__ as textual_version

from bridge import engine_process
from bridge.show import Show
from bridge.sources import FileSource
from bridge.tui import MixerApp, make_app
from models.gainsource import make_gain_source
from models.song import ChannelInfo, Song, SongMeta, save_song

RESULTS = Path(__file__).parent / "results" / "tui_frame.md"
RESULTS_PROCESS = Path(__file__).parent / "results" / "tui_frame_process.md"
RESULTS_LONG = Path(__file__).parent / "results" / "tui_frame_long.md"
LOOP_S = 20.0
"""The long run loops a song this long (10 minutes of 32 channels would not fit in memory)."""
SR = 48_000
WARMUP_S = 1.0
CASES = ((8, (80, 24)), (32, (80, 24)), (32, (330, 45)))
"""(channels, terminal size): 330 columns show all 32 strips at once (the most to paint)."""


def moving_song(channels: int, seconds: float) -> Song:
    """Noise a few dB apart per channel, swelling, so meters and faders move every hop."""
    rng = np.random.default_rng(0)
    n = int(SR * seconds)
    t = np.arange(n) / SR
    level = 0.3 * 10 ** (-1.0 * np.arange(channels)[:, None] / 20)
    swell = 1.0 + 0.6 * np.sin(2 * np.pi * 0.5 * t + np.arange(channels)[:, None])
    audio = (rng.standard_normal((channels, n)) * level * swell).astype(np.float32)
    return Song(SongMeta(SR, [ChannelInfo(f"Ch {i + 1}") for i in range(channels)]), audio)


@dataclass
class Result:
    channels: int
    size: tuple[int, int]
    seconds: float
    update_ms: list[float]
    refresh_ms: list[float]
    encode_ms: list[float]
    update_cpu_ms: list[float]
    refresh_cpu_ms: list[float]
    ui_cpu_s: float
    behind: list[int]
    drawn: list[int]
    gc_ms: list[float]
    misses: int
    hops: int
    engine_ms: list[float]
    headless_ms: list[float]

    @property
    def fps(self) -> float:
        return len(self.update_ms) / self.seconds

    @property
    def drawn_share(self) -> float:
        """The share of the engine's hops that some frame showed (the others were replaced by a
        later hop before the UI drew them)."""
        return min(len(set(self.drawn)) / max(self.hops, 1), 1.0)


def _instrument(app: MixerApp, console: Console) -> dict[str, list[float]]:
    """Time the mixer screen's refresh and the terminal encoding (benchmark-only hooks on
    Textual internals: the screen's update-timer callback and the app's display call), and the
    UI thread's CPU time in the update and the refresh (wall time also counts waiting for a
    core, which depends on what else the machine runs)."""
    times: dict[str, list[float]] = {
        "refresh": [],
        "encode": [],
        "update": [],
        "update_cpu": [],
        "refresh_cpu": [],
        "behind": [],
        "drawn": [],
        "gc": [],
    }
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            times["gc"].append((time.perf_counter() - started[0]) * 1000)

    # One measurement at a time: the previous case's hook goes.
    gc.callbacks[:] = [c for c in gc.callbacks if getattr(c, "__name__", "") != "on_gc"]
    gc.callbacks.append(on_gc)
    screen = app.mixer
    update = screen._on_timer_update
    display = app._display
    draw = screen.draw

    def timed_update() -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        update()
        times["refresh"].append((time.perf_counter() - t0) * 1000)
        times["refresh_cpu"].append((time.thread_time() - c0) * 1000)

    def timed_draw(snapshot: Any = None) -> None:
        # Every frame is kept here, not read back from the app's own logs: those are bounded
        # (FRAME_LOG frames), and a long run draws more.
        t0, c0 = time.perf_counter(), time.thread_time()
        draw(snapshot)
        times["update"].append((time.perf_counter() - t0) * 1000)
        times["update_cpu"].append((time.thread_time() - c0) * 1000)
        latest = app.show.engine.latest
        if latest is not None and snapshot is not None:
            times["behind"].append(latest.index - snapshot.index)
        if snapshot is not None:
            times["drawn"].append(snapshot.index)

    def timed_display(screen: Any, renderable: Any) -> None:
        render: Callable[[Console], str] | None = getattr(renderable, "render_segments", None)
        if render is not None:
            t0 = time.perf_counter()
            render(console)
            times["encode"].append((time.perf_counter() - t0) * 1000)
        display(screen, renderable)

    screen._on_timer_update = timed_update  # type: ignore[method-assign]
    screen.draw = timed_draw  # type: ignore[method-assign]
    app._display = timed_display  # type: ignore[method-assign]
    return times


def _result(
    channels: int,
    size: tuple[int, int],
    out: dict[str, Any],
    hops: int,
    engine: list[float],
    headless_ms: list[float],
) -> Result:
    """A Result from what the instrumented UI recorded in `out` (both modes record the same)."""
    return Result(
        channels,
        size,
        out["wall"],
        out["update"],
        out["refresh"],
        out["encode"],
        out["update_cpu"],
        out["refresh_cpu"],
        out["cpu"],
        out["behind"],
        out["drawn"],
        out["gc"],
        out["misses"],
        hops,
        engine,
        headless_ms,
    )


def headless(channels: int, seconds: float, source: str) -> list[float]:
    """The engine's compute per hop (ms) for the same real-time show with no UI, after the
    warm-up."""
    song = moving_song(channels, seconds + WARMUP_S)
    show = Show(FileSource(song, realtime=True), make_gain_source(source))
    show.run()
    show.close()
    return list(show.engine.stats.compute_ms)[int(WARMUP_S * 20) :]


def measure(channels: int, size: tuple[int, int], seconds: float, source: str) -> Result:
    song = moving_song(channels, seconds + WARMUP_S + 2.0)
    show = Show(FileSource(song, realtime=True), make_gain_source(source))
    app = make_app(show, profile_dirs=[])
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    times = _instrument(app, console)
    out: dict[str, Any] = {}

    async def body() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(WARMUP_S)
            marks = {k: len(v) for k, v in times.items()}
            cpu0, t0 = time.thread_time(), time.perf_counter()
            hops0, misses0 = show.engine.stats.hops, show.engine.stats.misses
            computed0 = len(show.engine.stats.compute_ms)
            await pilot.pause(seconds)
            out["cpu"] = time.thread_time() - cpu0
            out["wall"] = time.perf_counter() - t0
            out.update({k: v[marks[k] :] for k, v in times.items()})
            out["hops"] = show.engine.stats.hops - hops0
            out["misses"] = show.engine.stats.misses - misses0
            out["engine"] = list(show.engine.stats.compute_ms)[computed0:]
            await pilot.press("q")

    asyncio.run(body())
    show.close()
    return _result(
        channels,
        size,
        out,
        out["hops"],
        out["engine"],
        headless(channels, seconds, source) if source != "autofader" else [],
    )


def measure_process(
    channels: int, size: tuple[int, int], seconds: float, source: str, loop: bool = False
) -> Result:
    """As `measure`, with the show in an engine process: the engine's compute per hop over the
    measured hops comes from the child's stats at the end."""
    with tempfile.TemporaryDirectory() as tmp:
        length = LOOP_S if loop else seconds + WARMUP_S + 2.0
        folder = save_song(moving_song(channels, length), Path(tmp) / "song", subtype="PCM_24")
        spec = {"song": str(folder), "gain_source": source, "loop": loop}
        if loop:
            spec["seconds"] = seconds + WARMUP_S + 2.0
        remote = engine_process.start("bridge.engine_process:file_show", spec)
        app = make_app(cast(Show, remote), profile_dirs=[])
        console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
        times = _instrument(app, console)
        out: dict[str, Any] = {}

        def index() -> int:
            snap = remote.engine.latest
            return -1 if snap is None else snap.index

        def misses() -> int:
            snap = remote.engine.latest
            return 0 if snap is None else snap.misses

        async def body() -> None:
            async with app.run_test(size=size) as pilot:
                while index() < 0:
                    await pilot.pause(0.05)
                await pilot.pause(WARMUP_S)
                marks = {k: len(v) for k, v in times.items()}
                cpu0, t0 = time.thread_time(), time.perf_counter()
                out["hop0"], misses0 = index() + 1, misses()
                await pilot.pause(seconds)
                out["cpu"] = time.thread_time() - cpu0
                out["wall"] = time.perf_counter() - t0
                out["hop1"] = index() + 1
                out["misses"] = misses() - misses0
                out.update({k: v[marks[k] :] for k, v in times.items()})
                await pilot.press("q")

        asyncio.run(body())
        remote.close()
    stats = remote.stats
    engine = list(stats.compute_ms)[out["hop0"] : out["hop1"]] if stats is not None else []
    return _result(
        channels,
        size,
        out,
        out["hop1"] - out["hop0"],
        engine,
        headless(channels, min(seconds, 30.0), source),
    )


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def report(results: list[Result], seconds: float, load: float, source: str, mode: str = "") -> str:
    where = (
        "in its own process (bridge.engine_process; its compute from the child's stats)"
        if mode
        else "beside the UI (same process, same GIL)"
    )
    lines = [
        "# TUI frame cost" + (" (engine in its own process)" if mode else ""),
        "",
        f"`benchmarks/tui_frame.py{mode}"
        + ("" if "--minutes" in mode else f" --seconds {seconds:g}")
        + f" --gain-source {source}` on "
        f"{platform.machine()}, Python "
        f"{platform.python_version()}, Textual {textual_version}, "
        f"{time.strftime('%Y-%m-%d')}. Headless (`run_test`), the engine running a real-time "
        f"{source} show {where}, after a 1 s warm-up. "
        f"{os.cpu_count()} cores, load average {load:.1f} when it started (others' work: wall "
        "times include waiting for a core; CPU times do not).",
        "",
        "- update: the HopUpdate handler redrawing every strip and the master panel (wall time, "
        "the mixer screen's draw; CPU: the UI thread's CPU time in it);",
        "- refresh: Textual's screen update after it (compositing the changed lines), including "
        "encoding them for a truecolor terminal (shown apart as encode);",
        "- UI CPU / frame: the UI thread's CPU time over the run divided by the frames drawn "
        "(everything the UI thread did: messages, timers, layout, painting);",
        "- behind: hops the engine had finished past the one drawn, at each draw;",
        "- drawn: the share of the engine's hops that a frame showed (hops come 20 a second, so "
        "20 fps is every hop);",
        "- GC max: the UI process's longest garbage collection in the run;",
        "- engine: the gain source's compute per hop meanwhile, p50 / p99 ms, and the same show "
        "run headless just after (no UI) when the gain source is not the auto-fader.",
        "",
        "| channels | terminal | fps | update p50 / p99 ms | update CPU p50 / p99 | "
        "refresh p50 / p99 ms | refresh CPU p50 / p99 | encode p50 / p99 ms | "
        "UI CPU / frame ms | UI CPU % | behind max | drawn | GC max ms | misses | "
        "engine p50 / p99 ms "
        "| headless p50 / p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        per_frame = r.ui_cpu_s * 1000 / max(len(r.update_ms), 1)
        lines.append(
            f"| {r.channels} | {r.size[0]}x{r.size[1]} | {r.fps:.1f} | "
            f"{_pct(r.update_ms, 50):.2f} / {_pct(r.update_ms, 99):.2f} | "
            f"{_pct(r.update_cpu_ms, 50):.2f} / {_pct(r.update_cpu_ms, 99):.2f} | "
            f"{_pct(r.refresh_ms, 50):.2f} / {_pct(r.refresh_ms, 99):.2f} | "
            f"{_pct(r.refresh_cpu_ms, 50):.2f} / {_pct(r.refresh_cpu_ms, 99):.2f} | "
            f"{_pct(r.encode_ms, 50):.2f} / {_pct(r.encode_ms, 99):.2f} | "
            f"{per_frame:.2f} | {100 * r.ui_cpu_s / r.seconds:.0f} | "
            f"{max(r.behind, default=0)} | {100 * r.drawn_share:.2f} % | "
            f"{max(r.gc_ms, default=0):.1f} | {r.misses} of {r.hops} | "
            f"{_pct(r.engine_ms, 50):.2f} / {_pct(r.engine_ms, 99):.2f} | "
            + (
                f"{_pct(r.headless_ms, 50):.2f} / {_pct(r.headless_ms, 99):.2f} |"
                if r.headless_ms
                else "- |"
            )
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per case")
    parser.add_argument("--gain-source", default="autofader", help="the show's gain source")
    parser.add_argument("--engine-process", action="store_true", help="the show in its own process")
    parser.add_argument(
        "--minutes", type=float, help="the long run (with --engine-process): 32 ch, 330x45"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    if args.minutes:
        long_run(args.minutes, args.gain_source, load)
        return
    results = []
    for channels, size in CASES:
        if args.engine_process:
            r = measure_process(channels, size, args.seconds, args.gain_source)
        else:
            r = measure(channels, size, args.seconds, args.gain_source)
        print(
            f"{channels} ch {size[0]}x{size[1]}: {r.fps:.1f} fps, update p50 "
            f"{_pct(r.update_ms, 50):.2f} ms p99 {_pct(r.update_ms, 99):.2f} ms, refresh p50 "
            f"{_pct(r.refresh_ms, 50):.2f} ms p99 {_pct(r.refresh_ms, 99):.2f} ms, drawn "
            f"{100 * r.drawn_share:.2f} %, GC max {max(r.gc_ms, default=0):.1f} ms, engine p50 "
            f"{_pct(r.engine_ms, 50):.2f} p99 {_pct(r.engine_ms, 99):.2f} ms",
            flush=True,
        )
        results.append(r)
    mode = " --engine-process" if args.engine_process else ""
    text = report(results, args.seconds, load, args.gain_source, mode)
    path = RESULTS_PROCESS if args.engine_process else RESULTS
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    print(text)


def long_run(minutes: float, source: str, load: float) -> None:
    """32 channels at 330x45 with the engine in its own process for `minutes` of real time:
    the deadline misses over the whole run, and the engine's p99 beside a headless run."""
    r = measure_process(32, (330, 45), minutes * 60, source, loop=True)
    text = report([r], minutes * 60, load, source, f" --engine-process --minutes {minutes:g}")
    text += (
        f"\nLong run: {r.hops} hops in {r.seconds / 60:.1f} min, {r.misses} deadline misses, "
        f"engine p99 {_pct(r.engine_ms, 99):.2f} ms (max {max(r.engine_ms, default=0):.2f}) "
        f"vs headless p99 {_pct(r.headless_ms, 99):.2f} ms (30 s), {r.fps:.1f} fps, "
        f"{100 * r.drawn_share:.2f} % of the hops drawn, longest UI collection "
        f"{max(r.gc_ms, default=0):.1f} ms.\n"
    )
    RESULTS_LONG.parent.mkdir(exist_ok=True)
    RESULTS_LONG.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
