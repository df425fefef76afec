"""`ailive recover SHOWDIR`: finish a show folder whose show was killed, from its journal.

The journal (`bridge.journal`) holds the events, the gains CSV and the mix WAV as they were at the
last flush; this writes the summary.json and show.RPP the show would have written at its end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bridge.journal import EVENTS, GAINS, MIX, SUMMARY, read_events, write_closing_files
from bridge.outputs.automation import LINK_COLUMN
from bridge.outputs.gain_rows import GainRows

CRASHED = "crashed (recovered from the journal)"


class RecoverError(ValueError):
    """A folder that is not a show journal; the message names it."""


def read_gains(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, times, gains) from a journal's gains CSV; a row cut short by a crash is dropped.

    Read a row at a time into compact blocks: a 3-hour show's CSV is 200,000 rows."""
    import csv

    with path.open(newline="", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if not header or header[0] != "time_s":
            raise RecoverError(f"{path}: not a gains CSV (no time_s header)")
        linked = header[-1] == LINK_COLUMN  # the last column: was the console's link live
        if linked:
            header = header[:-1]
        rows = GainRows(len(header) - 1)
        for row in reader:
            if linked:  # a whole row ends in its link state; one cut short by a crash does not
                if len(row) != len(header) + 1 or row[-1] not in ("live", "lost", "fault"):
                    break
                row = row[:-1]
            if len(row) != len(header):
                break
            try:
                parsed = np.array(row, dtype=np.float64)
            except ValueError:
                break
            rows.append(float(parsed[0]), parsed[1:])
    return header[1:], rows.times(), rows.gains()


def recover(folder: Path) -> dict[str, Any]:
    """Write summary.json and show.RPP of `folder` from its journal; returns the summary."""
    if not folder.is_dir():
        raise RecoverError(f"{folder}: no such folder")
    if not (folder / EVENTS).is_file() or not (folder / GAINS).is_file():
        raise RecoverError(f"{folder}: not a show folder ({EVENTS} and {GAINS} missing)")
    events = read_events(folder)
    start = next((e for e in events if e.get("event") == "start"), {})
    progress = [e for e in events if e.get("event") in ("progress", "stop")]
    last = progress[-1] if progress else {}
    stop = next((e for e in reversed(events) if e.get("event") == "stop"), None)
    names, times, gains = read_gains(folder / GAINS)
    hop_s = float(start.get("hop_s", 0.05))
    faults = [e for e in events if e.get("event") == "fault"]
    fallbacks = [e for e in events if e.get("event") == "fallback"]
    mix_frames = None
    if (folder / MIX).is_file():
        try:
            mix_frames = sf.info(str(folder / MIX)).frames
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise RecoverError(f"{folder / MIX}: unreadable ({exc})") from exc
    summary: dict[str, Any] = {
        "title": start.get("title", folder.name),
        "gain_source": start.get("gain_source"),
        "channels": names,
        "hops": len(times),
        "seconds": round(len(times) * hop_s, 3),
        "compute_ms_p50": None,
        "compute_ms_p99": None,
        "deadline_misses": last.get("deadline_misses"),
        "fallback": "; ".join(f"{e.get('to')} at t={e.get('t')} s" for e in fallbacks) or None,
        "faults": max(len(faults), int(last.get("faults", 0) or 0)),
        "last_fault": faults[-1].get("reason") if faults else None,
        "sink_errors": last.get("sink_errors"),
        "stopped_by": stop.get("stopped_by", CRASHED) if stop else CRASHED,
        "recovered": True,
        "mix_seconds": None
        if mix_frames is None
        else round(mix_frames / start.get("sample_rate", 48_000), 3),
    }
    sources = [Path(p) for p in start.get("rpp_sources", [])]
    write_closing_files(folder, summary, names, times, gains, sources)
    return summary


def needs_recovery(folder: Path) -> bool:
    return not (folder / SUMMARY).is_file()
