"""Gain automation recorded to a CSV file: one row per hop, one column per channel (dB), and the
link's state: while a console link is lost the row holds what the console held, marked 'lost'."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

LINK_COLUMN = "link"


class AutomationRecorder:
    """A sink that remembers every gain it was sent; `write_csv` saves them.

    `keep=False` only counts the points: a show with a journal has them on disk already
    (`bridge.journal`), and keeping them in memory too grew a show by ~25 MB an hour.
    """

    name = "automation"

    def __init__(self, channel_names: list[str], *, keep: bool = True) -> None:
        self.channel_names = channel_names
        self.keep = keep
        self.points = 0
        self.times: list[float] = []
        self.rows: list[np.ndarray] = []
        self.links: list[str] = []
        """Per row: 'live', 'lost' or 'fault: ...' (what the engine said before the send)."""
        self._link = "live"

    def mark_link(self, state: str) -> None:
        """The engine tells, before each send, whether every output's link is live."""
        self._link = state

    def send(self, gains_db: np.ndarray, t: float) -> None:
        self.points += 1
        if not self.keep:
            return
        self.times.append(t)
        self.rows.append(np.asarray(gains_db, dtype=np.float64).copy())
        self.links.append(self._link)

    def flush(self, timeout_s: float = 1.0) -> bool:
        return True

    def status(self) -> str:
        return f"recording, {self.points} points"

    def close(self) -> None:
        pass

    def as_array(self) -> np.ndarray:
        """(hops, channels) dB."""
        if not self.rows:
            return np.zeros((0, len(self.channel_names)))
        return np.stack(self.rows)

    def write_csv(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["time_s", *self.channel_names, LINK_COLUMN])
            for t, row, link in zip(self.times, self.rows, self.links, strict=True):
                writer.writerow([f"{t:.3f}", *(f"{v:.2f}" for v in row), link.split(":")[0]])
        return path


def read_automation_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(channel names, times (hops,), gains (hops, channels)) from a file `write_csv` made."""
    header, times, gains, _ = read_automation_links(path)
    return header, times, gains


def read_automation_links(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """As `read_automation_csv`, plus each row's link state ('live', 'lost', 'fault')."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        linked = bool(header) and header[-1] == LINK_COLUMN
        width = len(header) - 1 if linked else len(header)
        rows, links = [], []
        for r in reader:
            rows.append([float(v) for v in r[:width]])
            links.append(r[width] if linked and len(r) > width else "live")
    data = np.array(rows, dtype=np.float64).reshape(-1, width)
    return header[1:width], data[:, 0], data[:, 1:], links
