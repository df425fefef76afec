"""A recorded rehearsal: a scripted person mixes a song on the virtual X32 while AiLive listens.

The person's fader levels are given per hop (dB, per channel); before hop k is played, the person
moves every fader whose level changed on the console's surface (`VirtualConsole.move_fader`:
what a hand on the desk does, pushed to /xremote subscribers), and the show waits until the
X32 client has heard the move. The show runs through a `SteppedSource`, one hop per step, so
the clock never races the person (faster than real time, and the same recording on a busy
machine as on an idle one). The show folder gets the learn recording (`bridge.recorder`).
Benchmarks and the learn-mode end-to-end test use it.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np

from bridge.channels import parse_roles
from bridge.journal import new_show_dir
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.law import db_to_fader, fader_to_db, quantize
from bridge.recorder import LearnTap, attach_recorder
from bridge.show import Show
from bridge.sources import SteppedSource
from bridge.virtual_console import VirtualConsole
from models.gainsource import GainSource
from models.song import Song

LIMIT_S = 60.0
"""How long one wait may take before the rehearsal fails (far beyond any busy machine)."""


def _wait(cond: object, what: str) -> None:
    deadline = time.monotonic() + LIMIT_S
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"rehearsal: still waiting after {LIMIT_S} s for {what}")
        time.sleep(0.0005)


def rehearse(
    song: Song,
    person_db: np.ndarray,
    gain_source: GainSource,
    out: Path,
    *,
    listen: bool = True,
    title: str = "rehearsal",
) -> Path:
    """Play `song` hop by hop while the person sets `person_db` (hops, C) on the virtual
    console; returns the show folder (its journal and learn recording, closed)."""
    n = song.audio.shape[0]
    hops = min(len(person_db), song.audio.shape[1] // (song.sample_rate // 20))
    start = [float(person_db[0, c]) for c in range(n)]
    console = VirtualConsole(channels=32, names=[nm[:12] for nm in song.names], faders_db=start)
    console.start()
    client = X32Client(*console.address, channels=list(range(1, n + 1)), listen=listen)
    try:
        client.connect()
        stepped = SteppedSource(song)
        tap = LearnTap(stepped)
        show = Show(
            tap,
            gain_source,
            sinks=[client],
            folder=new_show_dir(out),
            names=list(song.names),
            title=title,
            ride="absolute",
            roles=parse_roles(
                "auto", list(range(n)), list(song.names), [c.role for c in song.meta.channels]
            ),
        )
        show.engine.deadline_s = math.inf
        show.engine.human_hold_s = math.inf  # the person keeps what they touch
        client.on_human_move = show.engine.human_move
        recorder = attach_recorder(show, tap, [client], listen)
        runner = threading.Thread(target=show.run, name="rehearsal-engine", daemon=True)
        runner.start()
        on_console = [quantize(db_to_fader(v)) for v in start]
        for k in range(hops):
            for c in range(n):
                f = quantize(db_to_fader(float(person_db[k, c])))
                if f != on_console[c]:
                    console.move_fader(c + 1, f)
                    on_console[c] = f
            want = [fader_to_db(f) for f in on_console]

            def heard(want: list[float] = want) -> bool:
                held = client.link_report().held_db
                return all(h is not None and _same(h, w) for h, w in zip(held, want, strict=True))

            _wait(heard, f"the client to hear the person's faders before hop {k}")
            stepped.step_to(k)
            _wait(lambda k=k: recorder.hops > k, f"hop {k} to be recorded")
        show.stop()
        stepped.wake()
        runner.join(LIMIT_S)
        show.write_outputs()
        show.close()
    finally:
        client.close()
        console.stop()
    assert show.folder is not None
    return show.folder


def _same(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) < 0.01
