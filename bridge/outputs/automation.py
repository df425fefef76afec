"""Gain automation recorded to a CSV file: one row per hop, one column per channel (dB)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


class AutomationRecorder:
    """A sink that remembers every gain it was sent; `write_csv` saves them."""

    name = "automation"

    def __init__(self, channel_names: list[str]) -> None:
        self.channel_names = channel_names
        self.times: list[float] = []
        self.rows: list[np.ndarray] = []

    def send(self, gains_db: np.ndarray, t: float) -> None:
        self.times.append(t)
        self.rows.append(np.asarray(gains_db, dtype=np.float64).copy())

    def flush(self, timeout_s: float = 1.0) -> bool:
        return True

    def status(self) -> str:
        return f"recording, {len(self.rows)} points"

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
            writer.writerow(["time_s", *self.channel_names])
            for t, row in zip(self.times, self.rows, strict=True):
                writer.writerow([f"{t:.3f}", *(f"{v:.2f}" for v in row)])
        return path


def read_automation_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(channel names, times (hops,), gains (hops, channels)) from a file `write_csv` made."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [[float(v) for v in r] for r in reader]
    data = np.array(rows, dtype=np.float64).reshape(-1, len(header))
    return header[1:], data[:, 0], data[:, 1:]
