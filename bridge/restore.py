"""The soundcheck snapshot on disk (`snapshot.json` in the show folder) and putting it back.

Taken at connect from the faders the output read; `ailive restore SHOWDIR` connects again
and glides every fader back to it, one slew step per hop, as bypass does during a show.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.config import HOP_SECONDS
from bridge.safety import Mode, SafetyStage

SNAPSHOT_FILE = "snapshot.json"


class SnapshotError(ValueError):
    """A snapshot file that is missing or cannot be used; the message says which and why."""


@dataclass
class Snapshot:
    profile: str
    """Profile name or file the show's output came from."""
    host: str
    port: int
    channels: list[int]
    """0-based capture channels, in show order."""
    names: list[str]
    levels_db: list[float | None]
    """Per show channel: the console's level at connect (None: not driven or not read)."""


def _level(value: float | None) -> Any:
    if value is None:
        return None
    return "-inf" if value == -math.inf else round(value, 3)


def write_snapshot(folder: Path, snap: Snapshot) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SNAPSHOT_FILE
    data = {**snap.__dict__, "levels_db": [_level(v) for v in snap.levels_db]}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_snapshot(folder: Path) -> Snapshot:
    path = folder / SNAPSHOT_FILE if folder.is_dir() else folder
    try:
        data = json.loads(path.read_text())
        levels = [None if v is None else float(v) for v in data["levels_db"]]
        snap = Snapshot(
            profile=str(data["profile"]),
            host=str(data["host"]),
            port=int(data["port"]),
            channels=[int(c) for c in data["channels"]],
            names=[str(n) for n in data["names"]],
            levels_db=levels,
        )
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read ({exc.strerror})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"{path}: not a snapshot file ({exc})") from exc
    if len(snap.levels_db) != len(snap.channels):
        raise SnapshotError(
            f"{path}: {len(snap.levels_db)} levels for {len(snap.channels)} channels"
        )
    return snap


def glide_back(
    sink: Any,
    snapshot_db: list[float | None],
    *,
    hop_s: float = HOP_SECONDS,
    timeout_s: float = 60.0,
    pace: Callable[[], None] | None = None,
) -> bool:
    """Move a connected output's faders from where they are to `snapshot_db`, slewed; True
    when every fader with a snapshot level reached it. Each step waits until the output has
    landed the one before (at most 1 s), so no two steps ever reach the console as one."""
    n = len(snapshot_db)
    stage = SafetyStage(n, hop_s)
    base = sink.take_base() or [None] * n
    stage.adopt(base, snapshot=True)  # unknown channels stay where they are
    stage.adopt(snapshot_db, snapshot=True)
    stage.adopt(base)
    stage.set_mode(Mode.RESTORE)
    deadline = time.monotonic() + timeout_s
    pace = pace or (lambda: landed(sink, hop_s))
    k = 0
    while time.monotonic() < deadline:
        if sink.link_report().state != "live":  # nothing lands: do not glide ahead of it
            time.sleep(hop_s)
            continue
        reread = sink.take_base()
        if reread is not None:  # the link came back: go on from what the console holds now
            stage.adopt(reread)
        out = stage.process(np.zeros(n)).out_db
        k += 1
        sink.send(out, k * hop_s)
        if stage.mode is Mode.FREEZE:
            return bool(sink.flush(2.0))
        pace()
    return False


def landed(sink: Any, hop_s: float) -> None:
    """Wait until `sink` holds what it was sent (at most 1 s), and at least one hop."""
    t0 = time.monotonic()
    sink.flush(1.0)
    time.sleep(max(0.0, hop_s - (time.monotonic() - t0)))
