"""The engine's thread on stage: real-time scheduling where the OS allows it, the collector's
heap frozen for the show, and a journaled show that keeps no per-hop rows in memory."""

from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path

import numpy as np
import rpp

from bridge.realtime import Priority, freeze_heap, unfreeze_heap
from bridge.recover import read_gains
from bridge.show import Show
from bridge.sources import FileSource, SteppedSource
from tests.test_engine import dc_song


def permitted() -> bool:
    """Whether this machine lets a thread run SCHED_FIFO (root or an rtprio limit)."""
    probe = Priority()
    got = probe.raise_()
    probe.restore()
    return got.startswith("real-time")


def test_every_thread_runs_fifo_for_the_show_and_goes_back_after() -> None:
    release = threading.Event()
    idle = threading.Thread(target=release.wait)  # e.g. a client's receive thread
    idle.start()
    tid = idle.native_id
    assert tid is not None
    scope = Priority()
    got = scope.raise_()
    late = threading.Thread(target=release.wait)
    late.start()  # started while raised: it inherits the policy
    try:
        fifo = got.startswith("real-time")
        want = os.SCHED_FIFO if fifo else os.SCHED_OTHER
        assert os.sched_getscheduler(tid) == want and os.sched_getscheduler(0) == want
        late_id = late.native_id
        assert late_id is not None and os.sched_getscheduler(late_id) == want
        if fifo:
            assert got == "real-time (SCHED_FIFO 5)"
            assert os.sched_getparam(tid).sched_priority == 5
            assert os.sched_getparam(0).sched_priority == 6  # the caller (the engine) first
        else:
            assert got.startswith("normal (")
        scope.restore()
        assert os.sched_getscheduler(tid) == os.SCHED_OTHER
        assert os.sched_getscheduler(late_id) == os.SCHED_OTHER
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
    finally:
        scope.restore()
        release.set()
        idle.join(10)
        late.join(10)


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
        runner = threading.Thread(target=show.run)
        runner.start()
        runner.join(60)
        assert {policy for policy, _ in probe.seen} == {os.SCHED_OTHER}
        assert show.engine.stats.priority == "normal"
