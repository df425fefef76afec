"""The soak: a whole show at 32 channels in real time through the real capture path.

A dummy JACK server plays the demo song's channels (tiled to 32, looped) into PortAudio; a Show
captures them, the shipped model predicts, an X32 client drives a virtual X32 over UDP, and the
show's journal is written as it runs. The virtual X32 and the JACK client that plays run in a
child process: on stage the console and its USB interface are not in the engine's process, and
their Python (640 datagrams a second, a callback every 5.3 ms) must not share its GIL.
Recorded: deadline misses, compute and latency p99, faults,
capture overflows, resident memory after the warm-up and at the end, and whether the journal
holds every hop.

    .venv/bin/python benchmarks/soak.py [--minutes 60] [--channels 32] [--gain-source alm-mr]

The issue's goal is the hour on an otherwise idle machine. Results go to
benchmarks/results/soak.md (the README quotes them).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from benchmarks.jack_latency import rss_mb
from bridge.capture import CaptureSource
from bridge.config import DEMO_SONG_DIR
from bridge.jackserver import JackPlayer, dummy_jack
from bridge.outputs.x32.client import X32Client
from bridge.recover import read_gains
from bridge.show import Show
from bridge.virtual_console import VirtualConsole
from models.gainsource import make_gain_source
from models.song import load_song

RESULTS = Path(__file__).parent / "results" / "soak.md"
WARMUP_S = 10.0
"""Memory is measured from here on (the model and its caches are built by then)."""


def _names(channels: int) -> list[str]:
    song = load_song(DEMO_SONG_DIR, with_target=False)
    return [f"{song.names[i % len(song.names)][:8]} {i + 1}" for i in range(channels)]


def _rig(conn: Connection, channels: int) -> None:
    """The child process: what is outside the computer on stage, the console and its USB
    interface (the virtual X32 and a JACK client playing the demo song's channels, looped)."""
    song = load_song(DEMO_SONG_DIR, with_target=False)
    audio = np.tile(song.audio, (-(-channels // song.audio.shape[0]), 1))[:channels]
    with (
        VirtualConsole(channels=32, names=_names(channels)) as console,
        contextlib.closing(JackPlayer(audio, loop=True)) as player,  # never left to the GC
    ):
        conn.send(console.address)
        conn.recv()  # the show's capture is open: wire it and play
        player.wire_to_portaudio()
        player.playing = True
        conn.send("playing")
        conn.recv()  # the end


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    names = _names(args.channels)
    seconds = args.minutes * 60
    loads: list[float] = []
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    with dummy_jack(ports=args.channels, realtime=True):
        rig = ctx.Process(target=_rig, args=(theirs, args.channels), daemon=True)
        rig.start()
        if not ours.poll(120):
            raise SystemExit("the rig process (virtual console, player) did not start")
        host, port = ours.recv()
        source = CaptureSource("JACK", list(range(args.channels)), blocksize=256, names=names)
        client = X32Client(host, port, channels=list(range(1, args.channels + 1)))
        client.connect()
        show = Show(
            source, make_gain_source(args.gain_source), sinks=[client], folder=folder,
            names=names, title="soak",
        )  # fmt: skip
        client.on_human_move = show.engine.human_move
        runner = threading.Thread(target=show.run, daemon=True)
        runner.start()
        ours.send("wire")
        if not ours.poll(60):
            raise SystemExit("the rig process could not play into the show's capture")
        ours.recv()
        t0 = time.monotonic()
        time.sleep(WARMUP_S)
        mem0 = rss_mb()
        while time.monotonic() - t0 < seconds and runner.is_alive():
            time.sleep(min(60.0, max(0.1, seconds - (time.monotonic() - t0))))
            loads.append(os.getloadavg()[0])
            print(
                f"{(time.monotonic() - t0) / 60:5.1f} min: {show.engine.stats.hops} hops, "
                f"{show.engine.stats.misses} misses, RSS {rss_mb():.0f} MB, "
                f"load {loads[-1]:.2f}",
                flush=True,
            )
        mem1 = rss_mb()
        show.stop()
        runner.join(10.0)
        out = show.write_outputs()
        show.close()
        ours.send("end")
        rig.join(30)
    stats = show.engine.stats
    _, times, _ = read_gains(folder / "gains.csv")
    return {
        "hops": stats.hops,
        "misses": stats.misses,
        "faults": stats.faults,
        "fallback": stats.fallback or "none",
        "cpu99": stats.percentile_ms(99),
        "lat99": stats.latency_percentile_ms(99),
        "overflows": source.stats()["overflows"],
        "dropped": source.stats()["dropped_blocks"],
        "mem0": mem0,
        "mem1": mem1,
        "journal": f"{len(times)} rows, {sf.info(str(folder / 'mix.wav')).frames / 2400:.0f} "
        f"hops of mix, summary {'written' if out.summary_json else 'MISSING'}",
        "load": f"{min(loads):.1f}-{max(loads):.1f}" if loads else "n/a",
        "priority": stats.priority,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--gain-source", default="alm-mr")
    args = parser.parse_args()
    torch.set_num_threads(1)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed: still stop jackd
    with tempfile.TemporaryDirectory() as tmp:
        r = soak(args, Path(tmp))
    hour = args.minutes >= 60
    lines = [
        "# Soak",
        "",
        f"`benchmarks/soak.py --minutes {args.minutes:g} --channels {args.channels} "
        f"--gain-source {args.gain_source}`, {time.strftime('%Y-%m-%d')}: a Show (journal "
        "written as it runs) capturing through a dummy JACK server (period 256 at 48 kHz), the "
        "X32 client driving the virtual X32 (it and the JACK client that plays in a child "
        "process: the console and its interface), one torch thread; the JACK server real-time "
        f"(`jackd -R`), the show's threads {r['priority']}, the engine's one level above. "
        + ("The full hour" if hour else f"Only {args.minutes:g} minutes, not the goal's hour")
        + f"; 1-minute load average {r['load']} on {os.cpu_count()} cores during the run "
        "(sampled once a minute; above 0.5 or so the machine was not otherwise idle).",
        "",
        "| channels | gain source | minutes | hops | deadline misses | fallback | compute p99 ms | "
        "latency p99 ms | faults | overflows | RSS after warm-up -> end MB | growth MB | "
        "journal |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|",
        f"| {args.channels} | {args.gain_source} | {args.minutes:g} | {r['hops']} | "
        f"{r['misses']} | {r['fallback']} | {r['cpu99']:.2f} | {r['lat99']:.2f} | {r['faults']} | "
        f"{r['overflows']} | {r['mem0']:.0f} -> {r['mem1']:.0f} | {r['mem1'] - r['mem0']:+.0f} | "
        f"{r['journal']} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
