"""A show's files appended from a writer thread: what the show journal and learn mode's
recorder do alike.

The engine's thread only appends to in-memory queues; the writer thread drains them every
`flush_s` and once more at `close()`. A write that fails (a full disk, a pulled USB stick) is
counted in `write_errors` and logged once, never raised: the show goes on.
"""

from __future__ import annotations

import logging
import threading

import soundfile as sf

log = logging.getLogger(__name__)


class Appender:
    """Subclasses open their files, call `start_writer`, and implement `write_queued` (drain the
    queues into the files and flush them) and `close_files`."""

    what = "writer"
    """Names it in the log line of a failed write."""

    def start_writer(self, folder: object, flush_s: float, thread_name: str) -> None:
        self.write_errors = 0
        self._where = folder
        self._flush_s = flush_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._writer, name=thread_name, daemon=True)
        self._thread.start()

    def write_queued(self) -> None:
        raise NotImplementedError

    def close_files(self) -> None:
        raise NotImplementedError

    def _writer(self) -> None:
        while not self._stop.wait(self._flush_s):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        try:
            self.write_queued()
        except (OSError, sf.LibsndfileError) as exc:  # a full disk must not stop the show
            self.write_errors += 1
            if self.write_errors == 1:
                log.error("%s: cannot write to %s: %s", self.what, self._where, exc)

    def close(self) -> None:
        """Write what is queued, stop the thread, close the files; twice is harmless."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self.close_files()
