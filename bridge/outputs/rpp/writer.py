"""Write gain automation into a REAPER project (.RPP), new or existing, and a sink that records a
live show's gains and writes them at the end ("record automation").

An existing project is edited as text: only the driven tracks' `<VOLENV2` chunk and `AUTOMODE` line
change and new tracks are appended, so everything else stays byte for byte. The old file is copied
to a backup first and the new one replaces it atomically (temporary file + os.replace).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rpp
from rpp import scanner

from bridge.outputs.gain_rows import GainRows
from bridge.outputs.rpp.envelope import TOLERANCE_DB, new_track, source_item, volume_envelope

log = logging.getLogger(__name__)


class RppError(ValueError):
    """A project we cannot safely edit (not an RPP, unbalanced chunks, no backup possible)."""


@dataclass
class _TrackText:
    """Where one `<TRACK` chunk of the project sits, by line index."""

    start: int
    end: int
    """Index of the track's closing '>' line."""
    name: str = ""
    name_line: int | None = None
    automode_line: int | None = None
    envelope: tuple[int, int] | None = None
    """(first, last) line of its `<VOLENV2` chunk."""
    first_child: int | None = None
    """First line of its first sub-chunk (where a new envelope goes)."""


@dataclass
class RppResult:
    path: Path
    backup: Path | None
    updated: list[str] = field(default_factory=list)
    """Names of existing tracks whose envelope we replaced."""
    added: list[str] = field(default_factory=list)
    points: int = 0
    """Envelope points written in all (after simplification)."""


def _tokens(line: str) -> list[str]:
    return [t.value for t in scanner.tokenize(line) if t.type == "STRING"]


def _scan(lines: list[str]) -> list[_TrackText]:
    """The project's top-level tracks; RppError if the chunks do not balance."""
    tracks: list[_TrackText] = []
    depth = 0  # chunks open after this line
    current: _TrackText | None = None
    envelope_start: int | None = None
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("<"):
            depth += 1
            tag = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
            if depth == 2 and tag == "TRACK":
                current = _TrackText(start=i, end=i)
            elif depth == 3 and current is not None:
                if current.first_child is None:
                    current.first_child = i
                if tag == "VOLENV2" and current.envelope is None:
                    envelope_start = i
        elif text == ">":
            if depth == 3 and envelope_start is not None and current is not None:
                current.envelope = (envelope_start, i)
                envelope_start = None
            elif depth == 2 and current is not None:
                current.end = i
                tracks.append(current)
                current = None
            depth -= 1
            if depth < 0:
                raise RppError(f"line {i + 1}: '>' closes a chunk that was never opened")
        elif depth == 2 and current is not None and text:
            words = _tokens(text)
            if words and words[0] == "NAME" and current.name_line is None:
                current.name_line = i
                current.name = words[1] if len(words) > 1 else ""
            elif words and words[0] == "AUTOMODE" and current.automode_line is None:
                current.automode_line = i
    if depth != 0:
        raise RppError(f"{depth} chunk(s) are never closed")
    return tracks


def _indent(element: rpp.Element, depth: int, newline: str) -> list[str]:
    text = rpp.dumps(element)
    return ["  " * depth + row + newline for row in text.splitlines()]


def backup_path(path: Path) -> Path:
    """`song.RPP.bak`, or a timestamped `song.RPP.20250101-120000.bak` when that exists."""
    first = path.with_name(path.name + ".bak")
    if not first.exists():
        return first
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        candidate = path.with_name(f"{path.name}.{stamp}{f'-{k}' if k else ''}.bak")
        if not candidate.exists():
            return candidate
    raise RppError(f"{path}: no free backup file name")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_automation(
    path: str | Path,
    names: Sequence[str],
    times: np.ndarray,
    gains_db: np.ndarray,
    *,
    tolerance_db: float = TOLERANCE_DB,
    sources: Sequence[Path] | None = None,
    length_s: float | None = None,
) -> RppResult:
    """Write one volume envelope per channel into `path` (created if missing).

    times: (hops,) seconds; gains_db: (hops, channels). An existing track whose NAME equals a
    channel name gets its envelope replaced and AUTOMODE 1 (read); other channels become new
    tracks (with `sources[i]` as an item when given). Returns what was written and the backup.
    """
    path = Path(path)
    gains = np.asarray(gains_db, dtype=np.float64).reshape(len(times), len(names))
    times = np.asarray(times, dtype=np.float64)
    if len(times) == 0:
        raise RppError("no automation to write (the show recorded no hops)")
    last_hop = float(times[-1] - times[-2]) if len(times) > 1 else 0.0
    length = float(length_s if length_s is not None else times[-1] + last_hop)
    envelopes = [volume_envelope(times, gains[:, c], tolerance_db) for c in range(len(names))]
    result = RppResult(path=path, backup=None)
    result.points = sum(
        sum(1 for r in e if isinstance(r, list) and r[0] == "PT") for e in envelopes
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        project = rpp.Element("REAPER_PROJECT", ("0.1", "7.0/ailive", str(int(time.time()))), [])
        for c, name in enumerate(names):
            item = source_item(Path(sources[c]), length) if sources else None
            project.append(new_track(name, envelopes[c], item))
            result.added.append(name)
        _atomic_write(path, rpp.dumps(project).encode())
        return result

    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="surrogateescape")
    try:
        rpp.loads(text)
    except (ValueError, IndexError) as exc:
        raise RppError(f"{path}: not a REAPER project we can read ({exc})") from exc
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    tracks = _scan(lines)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line + 1, replacement)
    used: set[int] = set()
    appended: list[str] = []
    for c, name in enumerate(names):
        match = next((k for k, t in enumerate(tracks) if t.name == name and k not in used), None)
        if match is None:
            item = source_item(Path(sources[c]), length) if sources else None
            appended += _indent(new_track(name, envelopes[c], item), 1, newline)
            result.added.append(name)
            continue
        used.add(match)
        t = tracks[match]
        body = _indent(envelopes[c], 2, newline)
        if t.envelope is not None:
            edits.append((t.envelope[0], t.envelope[1] + 1, body))
        else:
            at = t.first_child if t.first_child is not None else t.end
            edits.append((at, at, body))
        pad = lines[t.start][: len(lines[t.start]) - len(lines[t.start].lstrip())] + "  "
        if t.automode_line is not None:
            edits.append((t.automode_line, t.automode_line + 1, [f"{pad}AUTOMODE 1{newline}"]))
        else:
            at = (t.name_line if t.name_line is not None else t.start) + 1
            edits.append((at, at, [f"{pad}AUTOMODE 1{newline}"]))
        result.updated.append(name)
    close = max(i for i, line in enumerate(lines) if line.strip() == ">")
    if appended:
        edits.append((close, close, appended))
    for first, stop, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[first:stop] = replacement

    backup = backup_path(path)
    try:
        shutil.copy2(path, backup)
    except OSError as exc:
        raise RppError(
            f"{path}: cannot back it up to {backup} ({exc.strerror}); not written"
        ) from exc
    result.backup = backup
    _atomic_write(path, "".join(lines).encode("utf-8", errors="surrogateescape"))
    return result


class RppRecorder:
    """A sink that keeps every hop's gains and writes them as envelopes when the show closes."""

    def __init__(
        self,
        path: str | Path,
        channel_names: Sequence[str],
        *,
        tolerance_db: float = TOLERANCE_DB,
        sources: Sequence[Path] | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = f"REAPER project {self.path.name}"
        self.channel_names = list(channel_names)
        self.tolerance_db = tolerance_db
        self.sources = sources
        self.rows = GainRows(len(channel_names), np.float32)  # within 0.1 dB anyway
        self.result: RppResult | None = None
        self.error: str | None = None
        self._closed = False

    def send(self, gains_db: np.ndarray, t: float) -> None:
        self.rows.append(t, gains_db)

    def flush(self, timeout_s: float = 1.0) -> bool:
        return True

    def status(self) -> str:
        if self.error:
            return f"not written: {self.error}"
        if self.result is not None:
            return f"wrote {self.result.points} points to {self.path}"
        return f"recording automation for {self.path.name}: {len(self.rows)} hops"

    def close(self) -> None:
        """Write the project once; a failure is logged and kept in `error`, never raised."""
        if self._closed:
            return
        self._closed = True
        if not self.rows:
            return
        try:
            self.result = write_automation(
                self.path,
                self.channel_names,
                self.rows.times(),
                self.rows.gains(),
                tolerance_db=self.tolerance_db,
                sources=self.sources,
            )
        except (OSError, RppError) as exc:
            self.error = str(exc)
            log.error("REAPER automation not written: %s", exc)
            return
        log.info("%s: %d points", self.path, self.result.points)
