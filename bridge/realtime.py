"""Real-time scheduling for a live show's threads, as JACK gives its own audio threads.

On a laptop that is also drawing the TUI, indexing files or running a browser, a normal thread
can wait tens of ms for a core; a SCHED_FIFO thread runs as soon as it is ready. The engine asks
for it when a live show starts and goes on at normal priority when the OS says no (a user
without the `audio` group's rtprio limit: the jackd2 package's /etc/security/limits.d/audio.conf
grants it). Linux only; elsewhere, and when refused, it says why in one log line.

The garbage collector is the other source of long pauses in a Python engine: a full collection
walks every object torch, ONNX Runtime and Textual made (~110 ms on a 2-core EPYC for the
231,000 objects of a show, two hops). `freeze_heap` collects once before the first hop and
moves what exists then out of the collector's sight; `unfreeze_heap` gives it back at the end.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading

log = logging.getLogger(__name__)

PRIORITY = 5
"""SCHED_FIFO priority: above every normal process, below JACK's audio threads (10 and up)."""


def _tids() -> list[int]:
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return [threading.get_native_id()]


class Priority:
    """Every thread of this process SCHED_FIFO for a show, then back (`restore`).

    Every thread, not only the engine's: a real-time thread waiting for the GIL held by a
    normal one that the OS has preempted for another program waits as long as that program runs
    (the soak missed 5 hops a minute so under a load of 2-5, with only the engine's thread
    raised). The calling thread (the engine's) gets one level more, so it runs first when both
    are ready. Threads started meanwhile inherit the policy. Threads already real-time (JACK's
    audio threads) are left alone. `what` says what the show runs as, for the summary.
    """

    def __init__(self, priority: int = PRIORITY) -> None:
        self.priority = priority
        self.what = "normal"
        self._before_rt: set[int] = set()
        self._raised = False

    def raise_(self) -> str:
        if not hasattr(os, "sched_setscheduler"):
            self.what = "normal (no real-time scheduling on this OS)"
            return self.what
        tids = _tids()
        self._before_rt = {tid for tid in tids if _policy(tid) not in (None, os.SCHED_OTHER)}
        me = threading.get_native_id()
        try:
            for tid in tids:
                if tid not in self._before_rt:
                    level = self.priority + (1 if tid == me else 0)  # the engine's own first
                    with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(level))
        except OSError as exc:
            self._raised = True
            self.restore()
            log.info(
                "engine at normal priority: real-time scheduling refused (%s); add the user to "
                "the 'audio' group for rtprio",
                exc.strerror or exc,
            )
            self.what = "normal (real-time scheduling not permitted)"
            return self.what
        self._raised = True
        self.what = f"real-time (SCHED_FIFO {self.priority})"
        return self.what

    def restore(self) -> None:
        """Every thread this raised, or that inherited it since, back to normal."""
        if not self._raised:
            return
        self._raised = False
        for tid in _tids():
            if tid not in self._before_rt and _policy(tid) == os.SCHED_FIFO:
                with contextlib.suppress(OSError):
                    os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


def _policy(tid: int) -> int | None:
    try:
        return os.sched_getscheduler(tid)
    except OSError:
        return None


def freeze_heap() -> None:
    gc.collect()
    gc.freeze()


def unfreeze_heap() -> None:
    gc.unfreeze()
