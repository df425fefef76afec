"""Real-time scheduling for the engine's thread, as JACK gives its own audio threads.

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

log = logging.getLogger(__name__)

PRIORITY = 5
"""SCHED_FIFO priority: above every normal process, below JACK's audio threads (10 and up)."""


def raise_priority(priority: int = PRIORITY) -> str:
    """Make the calling thread a SCHED_FIFO thread; returns what it runs as, for the summary."""
    setter = getattr(os, "sched_setscheduler", None)
    if setter is None:
        return "normal (no real-time scheduling on this OS)"
    try:
        setter(0, os.SCHED_FIFO, os.sched_param(priority))  # 0: this thread
    except OSError as exc:
        log.info(
            "engine at normal priority: real-time scheduling refused (%s); add the user to the "
            "'audio' group for rtprio",
            exc.strerror or exc,
        )
        return "normal (real-time scheduling not permitted)"
    return f"real-time (SCHED_FIFO {priority})"


def drop_priority() -> None:
    """The calling thread back to normal scheduling (a no-op when it was never raised)."""
    setter = getattr(os, "sched_setscheduler", None)
    if setter is not None:
        with contextlib.suppress(OSError):
            setter(0, os.SCHED_OTHER, os.sched_param(0))


def freeze_heap() -> None:
    gc.collect()
    gc.freeze()


def unfreeze_heap() -> None:
    gc.unfreeze()
