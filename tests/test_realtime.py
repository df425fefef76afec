"""The engine's thread on stage: real-time scheduling where the OS allows it, the collector's
heap frozen for the show, and a journaled show that keeps no per-hop rows in memory."""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rpp

from bridge.realtime import drop_priority, freeze_heap, raise_priority, unfreeze_heap
from bridge.recover import read_gains
from bridge.show import Show
from bridge.sources import FileSource, SteppedSource
from tests.test_engine import dc_song


def in_thread(fn: Callable[[], Any]) -> Any:
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(60)
    return out[0]


def permitted() -> bool:
    """Whether this machine lets a thread run SCHED_FIFO (root or an rtprio limit)."""

    def probe() -> bool:
        got = raise_priority()
        drop_priority()
        return got.startswith("real-time")

    return bool(in_thread(probe))


def test_raise_priority_makes_the_thread_fifo_or_says_why_not() -> None:
    def run() -> tuple[str, int, int]:
        got = raise_priority()
        during = os.sched_getscheduler(0)
        drop_priority()
        return got, during, os.sched_getscheduler(0)

    got, during, after = in_thread(run)
    if got.startswith("real-time"):
        assert during == os.SCHED_FIFO and got == "real-time (SCHED_FIFO 5)"
    else:
        assert got.startswith("normal (") and during == os.SCHED_OTHER
    assert after == os.SCHED_OTHER
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # only the calling thread changed


def test_freeze_heap_hides_what_exists_from_the_collector_until_unfrozen() -> None:
    freeze_heap()
    try:
        assert gc.get_freeze_count() > 1000
    finally:
        unfreeze_heap()
    assert gc.get_freeze_count() == 0


class Probe:
    """A gain source that notes how the thread calling it is scheduled."""

    name = "probe"

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self.n = n_channels
        self.seen: list[tuple[int, int]] = []

    def step(self, hop: np.ndarray) -> np.ndarray:
        self.seen.append((os.sched_getscheduler(0), gc.get_freeze_count()))
        return np.full(self.n, -6.0)


def test_a_live_show_runs_real_time_and_keeps_its_gains_on_disk_only(tmp_path: Path) -> None:
    probe = Probe()
    show = Show(FileSource(dc_song(30, channels=3), realtime=True), probe, folder=tmp_path)
    runner = threading.Thread(target=show.run)
    runner.start()
    runner.join(120)
    assert not runner.is_alive()
    out = show.write_outputs()
    show.close()
    fifo = permitted()
    policies = {policy for policy, _ in probe.seen}
    assert policies == ({os.SCHED_FIFO} if fifo else {os.SCHED_OTHER})
    assert all(frozen > 0 for _, frozen in probe.seen)  # the heap was frozen for every hop
    assert gc.get_freeze_count() == 0  # and given back at the end
    summary = json.loads(Path(out.summary_json).read_text())  # type: ignore[arg-type]
    assert summary["engine_priority"].startswith("real-time" if fifo else "normal")
    # No per-hop rows in memory; the project at the end comes from the journal, every hop.
    assert show.automation.rows == [] and show.automation.points == summary["hops"] == 30
    names, times, gains = read_gains(tmp_path / "gains.csv")
    assert len(times) == 30 and names == ["c0", "c1", "c2"] and gains.shape == (30, 3)
    assert np.allclose(gains[-1], show.engine.safety.current_db, atol=0.01)
    project = rpp.loads((tmp_path / "show.RPP").read_text())
    envelopes = project.findall(".//VOLENV2")
    assert len(envelopes) == 3 and all(env.findall("PT") for env in envelopes)


def test_a_stepped_or_rendered_show_stays_at_normal_priority(tmp_path: Path) -> None:
    for source in (FileSource(dc_song(4), realtime=False), SteppedSource(dc_song(4))):
        if isinstance(source, SteppedSource):
            source.step(4)  # the whole song: it ends by itself after the 4th hop
        probe = Probe()
        show = Show(source, probe)
        in_thread(show.run)
        assert {policy for policy, _ in probe.seen} == {os.SCHED_OTHER}
        assert show.engine.stats.priority == "normal"
