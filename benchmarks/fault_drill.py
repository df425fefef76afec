"""Fault drill: a real-time show through the real capture path meets the faults of a stage.

A dummy JACK server plays the demo song (looped) into PortAudio; the engine captures it, the
shipped model predicts, and an X32 client drives a virtual X32 through a UDP proxy that can drop
packets. The show writes its journal to a temporary folder. In order:
1. the console is killed and restarted on the same port 5 times (3 s down each time);
2. 10 % of the datagrams are dropped, both ways, for `--loss-seconds`;
3. 1,000 garbage datagrams a second hit the console and the client for `--garbage-seconds`;
4. the capture device is lost (jackd killed) and started again.
After each of 1-3 a person moves a fader on the console (after 2, to a level the model sent on
that channel in the last second of the loss): the engine must see it, and the console must still
show it 20 hops later. Recorded: what
froze and when, what resynced and how fast, and whether anything was lost (the journal against
the engine's count of hops).

    .venv/bin/python benchmarks/fault_drill.py [--gain-source alm-mr]

Results go to benchmarks/results/fault_drill.md (the README quotes them).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import select
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from bridge.capture import CaptureSource
from bridge.config import DEMO_SONG_DIR
from bridge.jackserver import JackPlayer, dummy_jack
from bridge.journal import read_events
from bridge.outputs.x32.client import X32Client
from bridge.outputs.x32.law import db_to_fader, fader_to_db, quantize
from bridge.recover import read_gains
from bridge.show import Show
from bridge.virtual_console import VirtualConsole
from models.gainsource import make_gain_source
from models.song import load_song

RESULTS = Path(__file__).parent / "results" / "fault_drill.md"
WAIT_S = 30.0
TOLERANCE_DB = 1.0
"""Console fader within this of the engine's latest sent gain counts as in sync."""


class LossyProxy:
    """UDP between the client and the console, dropping `loss` of the datagrams both ways.

    Each client socket gets its own socket towards the console, as a NAT gives it its own port,
    so the console's replies and pushes go back to the socket they are for.
    """

    def __init__(self, console: tuple[str, int], seed: int = 13) -> None:
        self.console = console
        self.loss = 0.0
        self.dropped = 0
        self.forwarded = 0
        self._rng = random.Random(seed)
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(("127.0.0.1", 0))
        self._backs: dict[tuple[str, int], socket.socket] = {}
        self._clients: dict[socket.socket, tuple[str, int]] = {}
        self._first = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lossy-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._front.getsockname()[:2]
        return str(host), int(port)

    @property
    def console_side(self) -> tuple[str, int]:
        """What is sent here reaches the client's first socket as if from the console."""
        self._first.wait(WAIT_S)
        back = next(iter(self._backs.values()))
        host, port = back.getsockname()[:2]
        return str(host), int(port)

    def _pass(self) -> bool:
        if self.loss and self._rng.random() < self.loss:
            self.dropped += 1
            return False
        self.forwarded += 1
        return True

    def _back_for(self, client: tuple[str, int]) -> socket.socket:
        back = self._backs.get(client)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", 0))
            self._backs[client] = back
            self._clients[back] = client
            self._first.set()
        return back

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._front, *self._clients], [], [], 0.05)
            for sock in ready:
                try:
                    data, sender = sock.recvfrom(65536)
                    if sock is self._front:
                        back = self._back_for((str(sender[0]), int(sender[1])))
                        if self._pass():
                            back.sendto(data, self.console)
                    elif self._pass():
                        self._front.sendto(data, self._clients[sock])
                except OSError:
                    continue  # the console is down: its port refuses; like a cable pulled

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._front.close()
        for back in self._clients:
            back.close()


def wait_until(cond: Callable[[], bool], timeout: float = WAIT_S) -> float | None:
    """Seconds until cond() held (polled every 10 ms), None if it never did."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


def mismatch_db(show: Show, console: VirtualConsole) -> float:
    snap = show.engine.latest
    if snap is None:
        return float("inf")
    faders = np.array([console.fader_db(ch + 1) for ch in range(len(snap.sent_db))])
    return float(np.max(np.abs(faders - snap.sent_db)))


def in_sync(show: Show, console: VirtualConsole) -> bool:
    return mismatch_db(show, console) < TOLERANCE_DB


KEEP_HOPS = 20
"""After the engine holds a person's move, the console must keep it this many hops (1 s)."""


def human_move_seen(
    show: Show, console: VirtualConsole, ch: int, client: X32Client, to: float = 0.3
) -> str:
    """A person moves channel `ch` on the console to fader value `to`: how soon the engine holds
    it, and whether the console still shows the person's level `KEEP_HOPS` hops later."""
    if show.engine.safety.channels[ch].state.value == "human":
        show.engine.release(ch)  # held already (by a false move): the drill's move would not count
        prior = "ALREADY HELD before the move (released first); "
    else:
        prior = ""
    console.move_fader(ch + 1, to)
    placed = console.fader(ch + 1)
    took = wait_until(lambda: show.engine.safety.channels[ch].state.value == "human")
    if took is None:
        show.engine.release(ch)
        return prior + (
            f"NEVER in {WAIT_S:g} s (the console's fader ended at "
            f"{console.fader_db(ch + 1):+.1f} dB; console subscribers "
            f"{len(console.subscribers())}; client: {client.status()})"
        )
    hops = show.engine.stats.hops
    wait_until(lambda: show.engine.stats.hops >= hops + KEEP_HOPS)
    kept = console.fader(ch + 1) == placed
    show.engine.release(ch)
    verdict = "kept" if kept else f"OVERWRITTEN (console at {console.fader_db(ch + 1):+.1f} dB)"
    return f"{prior}{took * 1000:.0f} ms, {verdict} {KEEP_HOPS} hops later"


def ridden_level(history: list[float], now_db: float) -> float:
    """A level the model sent in the last second (`history`: dB per 50 ms, newest last) that is
    farthest from where the fader is now: the move most like an echo of our own sets."""
    recent = [db for db in history[-20:] if np.isfinite(db)]
    if not recent:
        return now_db
    return max(recent, key=lambda db: abs(db - now_db))


def garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 200))
    if kind == 1:  # an address with a broken type tag
        return b"/ch/01/mix/fader\x00\x00\x00\x00,q\x00\x00" + rng.randbytes(4)
    if kind == 2:  # a truncated message
        return b"/xinfo\x00\x00,s\x00\x00ab"
    digit = bytes([48 + rng.randrange(10)])  # a fader set with a double out of range
    return b"/ch/0" + digit + b"/mix/fader\x00\x00\x00\x00,d\x00\x00\x7f\xef"


def jackd_children() -> list[int]:
    """The jackd processes this process started (from /proc; no broad names)."""
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == me and comm == "jackd":
            pids.append(int(entry))
    return pids


def drill(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    song = load_song(DEMO_SONG_DIR)
    n = song.audio.shape[0]
    rows: list[dict[str, str]] = []
    result: dict[str, Any] = {"rows": rows}
    # The player is closed on every way out: left to the garbage collector, jack.Client.__del__
    # crashed the process (a segfault hiding the real error).
    with dummy_jack(ports=n), contextlib.closing(JackPlayer(song.audio, loop=True)) as player:
        source = CaptureSource("JACK", list(range(n)), blocksize=256)
        console = VirtualConsole(port=0, channels=32, names=song.names).start()
        port = console.address[1]
        proxy = LossyProxy(console.address)
        client = X32Client(*proxy.address, channels=list(range(1, n + 1))).connect()
        show = Show(
            source, make_gain_source(args.gain_source), sinks=[client], folder=out,
            names=song.names, title="fault drill",
        )  # fmt: skip
        client.on_human_move = show.engine.human_move
        runner = threading.Thread(target=show.run, daemon=True)
        runner.start()
        player.wire_to_portaudio()
        player.playing = True
        wait_until(partial(in_sync, show, console))
        time.sleep(args.settle)

        # 1. Console killed and restarted.
        lost: list[float | None] = []
        resync: list[float | None] = []
        moves: list[str] = []
        for _ in range(args.restarts):
            console.stop()
            lost.append(wait_until(lambda: not client.connected))
            time.sleep(max(0.0, args.down - (lost[-1] or 0.0)))
            console = VirtualConsole(port=port, channels=32, names=song.names).start()
            resync.append(wait_until(partial(in_sync, show, console)))
            moves.append(human_move_seen(show, console, 1, client))
        # A restarted console comes back at 0 dB: its faders changed while it was down, so the
        # hold policy gave them to a person. Released here, as the engineer would, so that the
        # next phases start with every channel the model's.
        held = [ch + 1 for ch in range(n) if show.engine.safety.channels[ch].state.value == "human"]
        for ch in held:
            show.engine.release(ch - 1)
        rows.append(
            {
                "fault": f"console killed and restarted x{args.restarts} ({args.down:g} s down)",
                "froze": "client stopped sending after "
                + _span(lost)
                + " (status: lost); engine kept mixing",
                "resynced": "every fader within 1 dB of the model after "
                + _span(resync)
                + f"; held at the end as changed while down (the restarted console is at 0 dB): "
                f"ch {','.join(map(str, held)) or 'none'}, released before the next phase",
                "human move seen": ", ".join(moves),
            }
        )

        # 2. 10 % packet loss.
        humans_before = _count(out, "human")
        proxy.loss = 0.10
        worst: list[float] = []
        ridden: list[float] = []  # what the model sent on the channel a person moves next
        remembered = 0  # the most unconfirmed sets the client kept for one fader
        t_end = time.monotonic() + args.loss_seconds
        while time.monotonic() < t_end:
            worst.append(mismatch_db(show, console))
            snap = show.engine.latest
            ridden.append(float(snap.sent_db[2]) if snap is not None else float("nan"))
            remembered = max([remembered, *(len(f.pending) for f in client.link.faders)])
            time.sleep(0.05)
        false_moves = _count(out, "human") - humans_before
        proxy.loss = 0.0
        back = wait_until(partial(in_sync, show, console))
        # A person moves to a level the model rode through in the last second of the loss.
        level = ridden_level(ridden, console.fader_db(3))
        to = quantize(db_to_fader(level))
        if to == console.fader(3):  # the model held it still: any other level
            to = 0.3
        move = f"to {fader_to_db(to):+.1f} dB: " + human_move_seen(show, console, 2, client, to)
        rows.append(
            {
                "fault": f"10 % of datagrams dropped both ways for {args.loss_seconds:g} s "
                f"({proxy.dropped} dropped)",
                "froze": f"nothing; console vs model p50 {np.percentile(worst, 50):.2f} dB, "
                f"p99 {np.percentile(worst, 99):.2f} dB, max {max(worst):.2f} dB; "
                f"false human moves {false_moves}; at most {remembered} unconfirmed sets "
                "remembered per fader",
                "resynced": f"within 1 dB {_s(back)} after the loss ended",
                "human move seen": move,
            }
        )

        # 3. Garbage datagrams.
        rng = random.Random(5)
        spray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # The console, the client from a stranger's port, the client "from the console".
        targets = [console.address, client.local_address or console.address, proxy.console_side]
        compute_before = len(show.engine.stats.compute_ms)
        sent = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < args.garbage_seconds:
            for _ in range(10):
                spray.sendto(garbage(rng), targets[sent % 3])
                sent += 1
            time.sleep(max(0.0, t0 + sent / args.garbage_rate - time.monotonic()))
        spray.close()
        during = show.engine.stats.compute_ms[compute_before:]
        client_alive = client._thread is not None and client._thread.is_alive()
        console_alive = console._thread is not None and console._thread.is_alive()
        after_garbage = wait_until(partial(in_sync, show, console), timeout=5.0)
        move = human_move_seen(show, console, 3, client)
        rows.append(
            {
                "fault": f"{sent} garbage datagrams in {args.garbage_seconds:g} s to the console, "
                "the client, and the client as if from the console",
                "froze": f"nothing; compute p99 {np.percentile(during, 99):.2f} ms meanwhile; "
                f"client thread {'alive' if client_alive else 'DEAD'}, console thread "
                f"{'alive' if console_alive else 'DEAD'}; client status: {client.status()}",
                "resynced": "in sync (within 1 dB) "
                + ("never (5 s)" if after_garbage is None else f"{after_garbage:.2f} s after"),
                "human move seen": move,
            }
        )

        # 4. Capture device lost (the JACK server stopped dead) and back (continued).
        pids = jackd_children()
        t_lost = time.monotonic()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        frozen = wait_until(lambda: show.engine.source_lost != "")
        freeze_s = time.monotonic() - t_lost
        before = [console.fader_db(ch + 1) for ch in range(n)]
        time.sleep(1.0)
        after = [console.fader_db(ch + 1) for ch in range(n)]
        hops_lost = show.engine.stats.hops
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        t_back = time.monotonic()
        back = wait_until(lambda: show.engine.source_lost == "")
        back_s = time.monotonic() - t_back
        went_on = wait_until(lambda: show.engine.stats.hops >= hops_lost + 20)
        on_s = time.monotonic() - t_back
        show.stop()
        runner.join(WAIT_S)
        summary = show.write_outputs()
        show.close()
        rows.append(
            {
                "fault": "capture device lost (jackd stopped with SIGSTOP), then back (SIGCONT)",
                "froze": "never detected"
                if frozen is None
                else "no fader moved after the last audio (sets go out only on hops); fault "
                f"declared {freeze_s:.2f} s after it "
                f"({'faders unchanged a second later' if before == after else 'MOVED'})",
                "resynced": "never (5 s)"
                if back is None
                else f"the show went on by itself: audio back {back_s:.2f} s after the device, "
                + (f"20 more hops by {on_s:.2f} s" if went_on is not None else "but no hops"),
                "human move seen": "n/a",
            }
        )
        proxy.close()
        console.stop()
    # The journal against the engine: was anything lost?
    stats = show.engine.stats
    _, times, _ = read_gains(out / "gains.csv")
    frames = sf.info(str(out / "mix.wav")).frames
    result["lost"] = (
        f"engine {stats.hops} hops; journal {len(times)} gain rows, "
        f"{frames / 2400:.0f} hops of mix; summary: {summary.summary_json is not None}"
    )
    result["stats"] = stats
    result["source"] = ", ".join(f"{k} {v}" for k, v in source.stats().items())
    return result


def _count(folder: Path, kind: str) -> int:
    time.sleep(0.6)  # the journal flushes every 0.5 s
    return sum(1 for e in read_events(folder) if e.get("event") == kind)


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value * 1000:.0f} ms"


def _span(values: list[float | None]) -> str:
    if not values:
        return "n/a"
    if any(v is None for v in values):
        return f"{sum(v is None for v in values)} of {len(values)} never"
    vals = [v for v in values if v is not None]
    return f"{min(vals) * 1000:.0f}-{max(vals) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gain-source", default="alm-mr")
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--down", type=float, default=3.0)
    parser.add_argument("--loss-seconds", type=float, default=20.0)
    parser.add_argument("--garbage-seconds", type=float, default=10.0)
    parser.add_argument("--garbage-rate", type=float, default=1000.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument(
        "--keep", type=Path, default=None, help="a new folder to keep the show's journal and log in"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep is not None:
            args.keep.mkdir(parents=True)  # a new folder: an old show is never mixed in
        result = drill(args, args.keep or Path(tmp))
    stats = result["stats"]
    load = os.getloadavg()[0]
    lines = [
        "# Fault drill",
        "",
        f"`benchmarks/fault_drill.py --gain-source {args.gain_source}`, "
        f"{time.strftime('%Y-%m-%d')}, 8 channels of the demo song through a dummy JACK server, "
        f"the virtual X32 behind a UDP proxy. {stats.hops} hops, {stats.misses} deadline misses, "
        f"{stats.faults} faults; capture: {result['source']}. 1-minute load average at the end: "
        f"{load:.2f} on {os.cpu_count()} cores (other sessions' work).",
        "",
        "| fault | what froze | what resynced | a person's move seen after |",
        "|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['fault']} | {row['froze']} | {row['resynced']} | {row['human move seen']} |"
        )
    lines += ["", f"Anything lost? {result['lost']}."]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    RESULTS.write_text(text)
    os._exit(0)  # PortAudio may still hold the stopped server's stream: do not wait on it


if __name__ == "__main__":
    main()
