"""The learn recording of a show folder: what `--learn` writes and `ailive learn` reads.

- `learn.json`: the channel names, sample rate, hop and whether the show ran in listen mode;
- `channels.flac`: the captured channels (24-bit FLAC), appended as the show runs;
- `learn.csv`: one row per 50 ms hop: `time_s`, then per channel the console's fader (dB, what
  the engineer hears: `fader_N`), the model's proposal (`model_N`), the channel's state
  (`state_N`: auto, human, locked, ...) and whose level the fader is (`who_N`: `e` the
  engineer's, `m` the model's, `-` unknown). In listen mode every known fader is the engineer's;
  otherwise a channel held by a person is, and the rest is the model's.

A show killed mid-way reads back up to its last flushed hop: a CSV line cut short is dropped and
the FLAC is read up to its last whole block (its header never got the length).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

META = "learn.json"
CHANNELS = "channels.flac"
ROWS = "learn.csv"
FORMAT = "ailive-learn/1"
ENGINEER, MODEL, UNKNOWN = "e", "m", "-"


class RecordingError(ValueError):
    """A show folder without a usable learn recording; the message says what is missing."""


def header(n: int) -> list[str]:
    cols = ["time_s"]
    for kind in ("fader", "model", "state", "who"):
        cols += [f"{kind}_{i + 1}" for i in range(n)]
    return cols


def who(listen: bool, state: str, fader_known: bool) -> str:
    """Whose level a channel's fader is on one hop."""
    if not fader_known:
        return UNKNOWN
    return ENGINEER if listen or state == "human" else MODEL


def format_row(
    t: float, fader_db: list[float | None], model_db: np.ndarray, states: list[str], listen: bool
) -> str:
    faders = ["" if f is None else _num(f) for f in fader_db]
    whos = [who(listen, s, f is not None) for s, f in zip(states, fader_db, strict=True)]
    fields = [f"{t:.3f}", *faders, *(_num(float(m)) for m in model_db), *states, *whos]
    return ",".join(fields) + "\n"


def _num(v: float) -> str:
    return f"{v:.2f}" if math.isfinite(v) else ("-inf" if v < 0 else "nan")


@dataclass
class Recording:
    """One show's learn recording. Hop k of `faders` is the console at the end of hop k."""

    name: str
    names: list[str]
    sample_rate: int
    hop: int
    audio: np.ndarray
    """(C, hops * hop) float32."""
    faders_db: np.ndarray
    """(hops, C): the console's fader per hop, dB (NaN where unknown)."""
    model_db: np.ndarray
    """(hops, C): the model's proposals."""
    engineer: np.ndarray
    """(hops, C) bool: the fader was the engineer's on that hop."""
    listen: bool = False
    roles: list[str | None] = field(default_factory=list)
    """Each channel's role as the show told the model (learn.json), else guessed from the
    names (models.alm.roles.guess_role): what a network trained with roles reads."""
    role_spans: list[tuple[int, int, list[str | None]]] = field(default_factory=list)
    """Where the roles changed during the recording (a changeover: hops a..b and their roles);
    empty: `roles` for every hop."""

    def spans(self) -> list[tuple[int, int, list[str | None]]]:
        """(first hop, end hop, roles) covering the recording."""
        return self.role_spans or [(0, self.hops, list(self.roles))]

    @property
    def hops(self) -> int:
        return int(self.faders_db.shape[0])

    def engineer_minutes(self) -> float:
        """Minutes of hops where at least one channel was the engineer's."""
        return float(self.engineer.any(axis=1).sum()) * self.hop / self.sample_rate / 60.0


def read_flac_partial(path: Path) -> tuple[np.ndarray, int]:
    """(C, n) float32 and the rate of a FLAC file, also one whose writer was killed (its header
    gives no length; soundfile's reads seek, which such a file refuses)."""
    import soundfile as sf

    with sf.SoundFile(path) as f:
        chunks = []
        block = 1 << 16
        while True:
            buf = np.empty((block, f.channels), np.float32)
            got = sf._snd.sf_readf_float(f._file, sf._ffi.cast("float *", buf.ctypes.data), block)
            chunks.append(buf[: max(0, int(got))])
            if got < block:
                break
        rate = int(f.samplerate)
    audio = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
    return np.ascontiguousarray(audio.T), rate


def recorded_roles(told: Any, names: list[str]) -> list[str | None]:
    """The roles a recording's learn.json gives (a list as long as the channels, each a role
    or null), else each channel's guess from its name."""
    from models.alm.config import ROLES
    from models.alm.roles import guess_role

    if isinstance(told, list) and len(told) == len(names):
        return [r if isinstance(r, str) and r in ROLES else None for r in told]
    return [guess_role(n) for n in names]


def read_recording(folder: Path) -> Recording:
    """The learn recording of a show folder (a killed show's too, up to its last flush)."""
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.is_file():
        raise RecordingError(
            f"{folder}: no {META} (record the show with `--learn`, or import a mix with "
            "`ailive learn --rpp` / `--gains`)"
        )
    try:
        meta = json.loads(meta_path.read_text())
        names = [str(n) for n in meta["names"]]
        rate, hop = int(meta["sample_rate"]), int(meta["hop"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{meta_path}: not a learn recording ({exc})") from None
    if not (folder / CHANNELS).is_file() or not (folder / ROWS).is_file():
        raise RecordingError(f"{folder}: {CHANNELS} or {ROWS} missing")
    audio, file_rate = read_flac_partial(folder / CHANNELS)
    if file_rate != rate or audio.shape[0] != len(names):
        raise RecordingError(f"{folder / CHANNELS}: not {len(names)} channels at {rate} Hz")
    faders, models, engineer = parse_rows(folder / ROWS, len(names))
    hops = min(len(faders), audio.shape[1] // hop)
    return Recording(
        roles=recorded_roles(meta.get("roles"), names),
        name=folder.name,
        names=names,
        sample_rate=rate,
        hop=hop,
        audio=audio[:, : hops * hop],
        faders_db=faders[:hops],
        model_db=models[:hops],
        engineer=engineer[:hops],
        listen=bool(meta.get("listen", False)),
    )


def parse_rows(path: Path, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(faders, model, engineer) arrays of a learn.csv; a line cut short is dropped."""
    faders, models, engineer = [], [], []
    lines = path.read_text(errors="replace").splitlines()
    if not lines or lines[0].split(",") != header(n):
        raise RecordingError(f"{path}: header is not that of {n} channels")
    for line in lines[1:]:
        parts = line.split(",")
        if len(parts) != 1 + 4 * n:
            continue  # cut short by a kill
        try:
            f = [float(v) if v else math.nan for v in parts[1 : 1 + n]]
            m = [float(v) for v in parts[1 + n : 1 + 2 * n]]
        except ValueError:
            continue
        faders.append(f)
        models.append(m)
        engineer.append([w == ENGINEER for w in parts[1 + 3 * n :]])
    return (
        np.asarray(faders, np.float64).reshape(-1, n),
        np.asarray(models, np.float64).reshape(-1, n),
        np.asarray(engineer, bool).reshape(-1, n),
    )
