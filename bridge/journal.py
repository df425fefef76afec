"""The show journal: a show's own folder, written while the show runs so a crash loses little.

`ailive-out/<date-time>/` (a new folder per show, never reused) gets, appended as the show runs:
- `events.jsonl`: one JSON object per line (start, faults, human moves, alarms, stop, ...);
- `gains.csv`: the gains sent each hop (the same format as `AutomationRecorder.write_csv`);
- `mix.wav`: the direct mix, 24-bit, its header brought up to date at every flush;
- `show.log`: every log record of the show (bridge.log attaches it).
The engine's thread only appends to in-memory queues; a writer thread drains them and flushes
to the operating system every `flush_s` (0.5 s), so after SIGKILL at most that much is lost and
every file reads back. `summary.json` and `show.RPP` are written at the end (`Show.finish`), or
from the journal by `ailive recover SHOWDIR` (`bridge.recover`).
"""

from __future__ import annotations

import collections
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import soundfile as sf

from bridge.appender import Appender
from bridge.outputs.automation import LINK_COLUMN

EVENTS = "events.jsonl"
GAINS = "gains.csv"
MIX = "mix.wav"
LOG = "show.log"
SUMMARY = "summary.json"
RPP = "show.RPP"
FLUSH_S = 0.5
_SFC_UPDATE_HEADER_NOW = 0x1060
"""libsndfile's sf_command code (sndfile.h) that rewrites the header for the frames so far."""


class JournalError(OSError):
    """The show folder cannot be made (e.g. `--out` names a file)."""


def new_show_dir(base: Path, now: datetime | None = None) -> Path:
    """Make and return `base/<YYYY-mm-dd_HH-MM-SS>` (with `-2`, `-3`... if taken): never reused."""
    if base.exists() and not base.is_dir():
        raise JournalError(f"--out {base}: is a file; give a folder (each show gets a subfolder)")
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    try:
        base.mkdir(parents=True, exist_ok=True)
        for k in range(1, 1000):
            folder = base / (stamp if k == 1 else f"{stamp}-{k}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as exc:
        raise JournalError(f"--out {base}: cannot make the show folder ({exc.strerror})") from exc
    raise JournalError(f"--out {base}: too many shows started in the same second")


class ShowJournal(Appender):
    """Appends a show's events, gains and mix to its folder from a writer thread.

    As an engine sink (`send`) and mix output (`add`) it never blocks: both only append to a
    deque. `event()` may be called from any thread. `close()` writes what is queued and stops.
    """

    name = "journal"
    what = "show journal"

    def __init__(
        self,
        folder: Path,
        names: list[str],
        sample_rate: int,
        *,
        mix: bool = True,
        flush_s: float = FLUSH_S,
    ) -> None:
        self.folder = folder
        self.names = list(names)
        self.sample_rate = sample_rate
        self.flush_s = flush_s
        self.rows = 0
        self.frames = 0
        self._gains: collections.deque[tuple[float, np.ndarray, str]] = collections.deque()
        self._audio: collections.deque[np.ndarray] = collections.deque()
        self._events: collections.deque[dict[str, Any]] = collections.deque()
        self._csv: TextIO = (folder / GAINS).open("w", newline="")
        header = ["time_s", *(_csv_field(n) for n in self.names), LINK_COLUMN]
        self._csv.write(",".join(header) + "\n")
        self._link = "live"
        self._ev: TextIO = (folder / EVENTS).open("w")
        self._wav: sf.SoundFile | None = None
        if mix:
            self._wav = sf.SoundFile(
                folder / MIX, "w", samplerate=sample_rate, channels=1, subtype="PCM_24"
            )
        self._flush_files()
        self.start_writer(folder, flush_s, "show-journal")

    # Any thread: append only.

    def event(self, kind: str, **fields: Any) -> None:
        self._events.append({"wall": round(time.time(), 3), "event": kind, **fields})

    def mark_link(self, state: str) -> None:
        """The engine tells, before each send, whether every output's link is live: while it is
        lost, the row holds what the console held, marked 'lost'."""
        self._link = state.split(":")[0]

    def send(self, gains_db: np.ndarray, t: float) -> None:
        self._gains.append((t, np.array(gains_db, dtype=np.float64), self._link))

    def add(self, chunk: np.ndarray) -> None:
        if self._wav is not None:
            self._audio.append(chunk)

    def flush(self, timeout_s: float = 1.0) -> bool:
        return True

    def status(self) -> str:
        errors = f", {self.write_errors} write errors" if self.write_errors else ""
        return f"journal {self.folder.name}: {self.rows} rows{errors}"

    # The writer thread.

    def write_queued(self) -> None:
        # Whole lines in one write each, so a crash cuts at most the last line short.
        lines = [json.dumps(self._events.popleft()) + "\n" for _ in range(len(self._events))]
        if lines:
            self._ev.write("".join(lines))
        rows = [self._gains.popleft() for _ in range(len(self._gains))]
        if rows:
            self._csv.write(
                "".join(
                    f"{t:.3f}," + ",".join(f"{v:.2f}" for v in g) + f",{link}\n"
                    for t, g, link in rows
                )
            )
            self.rows += len(rows)
        if self._wav is not None and self._audio:
            chunks = [self._audio.popleft() for _ in range(len(self._audio))]
            audio = np.clip(np.concatenate(chunks), -1.0, 1.0)  # no normalisation, as live
            self._wav.write(audio)
            self.frames += len(audio)
        self._flush_files()

    def _flush_files(self) -> None:
        self._ev.flush()
        self._csv.flush()
        if self._wav is not None:
            sf._snd.sf_command(self._wav._file, _SFC_UPDATE_HEADER_NOW, sf._ffi.NULL, 0)
            self._wav.flush()

    def close_files(self) -> None:
        self._ev.close()
        self._csv.close()
        if self._wav is not None:
            self._wav.close()


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def read_events(folder: Path) -> list[dict[str, Any]]:
    """The events of a show folder; a line cut short by a crash is skipped."""
    events: list[dict[str, Any]] = []
    path = folder / EVENTS
    if not path.is_file():
        return events
    for line in path.read_text(errors="replace").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            events.append(item)
    return events


def write_closing_files(
    folder: Path,
    summary: dict[str, Any],
    names: list[str],
    times: list[float] | np.ndarray,
    gains: np.ndarray,
    sources: list[Path] | None = None,
) -> tuple[Path | None, Path, Path, Path | None, Path | None]:
    """summary.json and show.RPP (the gains as volume envelopes) of a show folder, at the end
    of a show or by `ailive recover`. Returns (mix, gains, summary, rpp, log); None: absent."""
    from bridge.outputs.rpp.writer import RppError, write_automation

    summary = {"folder": str(folder), **summary}
    rpp: Path | None = folder / RPP
    try:
        items = [p.resolve() for p in sources or [] if p.is_file()]
        write_automation(
            folder / RPP,
            names,
            np.asarray(times, dtype=np.float64),
            gains,
            sources=items if len(items) == len(names) else None,
        )
    except (OSError, RppError) as exc:
        summary["rpp_error"] = str(exc)
        rpp = None
    path = folder / SUMMARY
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(path)
    mix = folder / MIX
    logfile = folder / LOG
    return (
        mix if mix.is_file() else None,
        folder / GAINS,
        path,
        rpp,
        logfile if logfile.is_file() else None,
    )
