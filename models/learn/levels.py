"""Learned levels: where the engineer puts each role against its channel's loudness.

An engineer's static balance is mostly "the vocal this far over the band, the kick here, the
pad back there", set by ear against how loud each source is. `fit_role_levels` reads that from
a recording: on every hop of the engineer's, each channel's fader plus its running active level
(the loudness of the frames where it plays, over the last 30 s), centred over the channels,
gathered per role; the median per role is the table. `LevelledMixer` plays it back on top of a
network: each channel's static level becomes the table's (its role's level minus its running
active level) while the network's moves around its own running level are kept, so the rides
stay the model's and the balance becomes the engineer's.

Safety: the correction is centred (the mix's overall level stays the network's), bounded to
+-MAX_CORRECTION_DB, changes only as the 30 s level estimates move, grows with the frames a
channel has played over its first TRUST_HOPS (a level read from a few notes does not set a
fader), and holds a channel's last estimate while nothing on it plays (a resting channel's bleed
is never levelled up). Channels
without a role in the table keep the network's gain as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.gainsource import GainSource, tell_roles

WINDOW_HOPS = 600
"""30 s of 50 ms hops: the running level's memory."""
ACTIVE_DB = 30.0
"""A frame counts when it is within this of the channel's loudest frame in the window (the
rules table's "active RMS")."""
FLOOR_DBFS = -60.0
"""A frame below this never counts (noise, a muted mic)."""
PLAYING_DB = 20.0
"""A frame further than this below the channel's loudest kept is not playing (a resting
singer's mic carrying the band's bleed)."""
RELAX_DB_PER_HOP = 0.0125
"""0.25 dB a second: how fast that margin widens while nothing on the channel plays."""
MAX_CORRECTION_DB = 9.0
"""The most the table moves a channel away from where the network has it."""
STRENGTHS = (0.25, 0.5, 0.75, 1.0)
"""How far toward the table a learned model moves (the one with the lowest held-out error)."""
TRUST_HOPS = 100
"""Playing frames (5 s) before a channel's level is trusted in full: its correction grows with
the frames heard until then, so a level read from the first few frames does not set a fader."""
MIN_HOPS = 200
"""Hops of the engineer's a role needs in the training part to get a level (10 s)."""


def frame_db(hop: np.ndarray) -> np.ndarray:
    """(C, n) audio -> (C,) mean power in dB."""
    power = np.einsum("ij,ij->i", hop, hop, dtype=np.float64) / max(1, hop.shape[1])
    return np.asarray(10.0 * np.log10(power + 1e-20))


class RunningLevels:
    """Per channel, causal: the active level of its last WINDOW_HOPS playing frames (dB of the
    mean power of those within ACTIVE_DB of the loudest) and the mean of a gain over the same
    frames. A frame is playing when it is above FLOOR_DBFS and within PLAYING_DB of the loudest
    the channel kept, that margin widening by RELAX_DB_PER_HOP for every hop nothing was
    (so a single loud bang does not freeze the level for good). A resting channel's bleed is
    not playing: its level holds (NaN before it first plays)."""

    def __init__(self, n_channels: int, window: int = WINDOW_HOPS) -> None:
        self._db = np.full((n_channels, window), -np.inf)
        self._gain = np.zeros((n_channels, window))
        self._at = np.zeros(n_channels, dtype=np.int64)
        self._since = np.zeros(n_channels)
        self.count = np.zeros(n_channels, dtype=np.int64)
        """Playing frames heard (up to the window's length)."""
        self.level_db = np.full(n_channels, np.nan)
        self.mean_gain_db = np.full(n_channels, np.nan)

    def forget(self, rows: np.ndarray) -> None:
        """Clear these channels' memory (a changeover: another source on the channel)."""
        self._db[rows] = -np.inf
        self._gain[rows] = 0.0
        self._at[rows] = 0
        self._since[rows] = 0.0
        self.count[rows] = 0
        self.level_db[rows] = np.nan
        self.mean_gain_db[rows] = np.nan

    def push(self, db: np.ndarray, gain_db: np.ndarray) -> None:
        top = self._db.max(axis=1)
        margin = PLAYING_DB + RELAX_DB_PER_HOP * self._since
        playing = (db > FLOOR_DBFS) & ~(db < top - margin)  # an empty ring takes any frame
        self._since = np.where(playing, 0.0, self._since + 1.0)
        if not playing.any():
            return
        rows = np.flatnonzero(playing)
        cols = self._at[rows]
        self._db[rows, cols] = db[rows]
        self._gain[rows, cols] = np.nan_to_num(np.asarray(gain_db, dtype=np.float64)[rows])
        self._at[rows] = (cols + 1) % self._db.shape[1]
        self.count[rows] = np.minimum(self.count[rows] + 1, self._db.shape[1])
        ring = self._db[rows]
        active = ring >= ring.max(axis=1, keepdims=True) - ACTIVE_DB
        n = active.sum(axis=1)
        power = np.where(active, 10.0 ** (ring / 10.0), 0.0).sum(axis=1) / n
        self.level_db[rows] = 10.0 * np.log10(power)
        self.mean_gain_db[rows] = np.where(active, self._gain[rows], 0.0).sum(axis=1) / n


def correction_db(table_db: np.ndarray, levels: RunningLevels, strength: float = 1.0) -> np.ndarray:
    """(C,) what to add to the network's gains: each tabled channel's static level moved to
    its role's level over its active loudness (`strength` of the way: 1 all of it, 0.5 half
    way between the network's level and the table's), the move centred over those channels
    (nothing with fewer than two) and bounded."""
    want = table_db - levels.level_db - levels.mean_gain_db
    ok = np.isfinite(want)
    out = np.zeros(len(want))
    if ok.sum() >= 2:
        trust = np.minimum(1.0, levels.count[ok] / TRUST_HOPS)
        moved = strength * trust * (want[ok] - want[ok].mean())
        out[ok] = moved - moved.mean()
    return np.clip(out, -MAX_CORRECTION_DB, MAX_CORRECTION_DB)


def fit_role_levels(
    audio: np.ndarray, faders_db: np.ndarray, roles: Sequence[str | None], hop: int
) -> dict[str, list[float]]:
    """Per role, each engineer's hop's (fader + running active level), centred over the
    channels with a role and a fader on that hop (two at least): the samples of the table.
    faders_db: (hops, C), NaN where not the engineer's."""
    c = audio.shape[0]
    levels = RunningLevels(c)
    known = np.asarray([r is not None and r != "unknown" for r in roles])
    out: dict[str, list[float]] = {}
    for t in range(faders_db.shape[0]):
        levels.push(frame_db(audio[:, t * hop : (t + 1) * hop]), np.zeros(c))
        v = faders_db[t] + levels.level_db
        ok = known & np.isfinite(v)
        if ok.sum() < 2:
            continue
        v = v - v[ok].mean()
        for i in np.flatnonzero(ok):
            out.setdefault(str(roles[int(i)]), []).append(float(v[i]))
    return out


def role_table(samples: dict[str, list[float]]) -> dict[str, float]:
    """The median per role of `fit_role_levels`' samples (roles with MIN_HOPS or more), centred
    over the roles: dB, only differences matter."""
    table = {r: float(np.median(v)) for r, v in samples.items() if len(v) >= MIN_HOPS}
    if len(table) < 2:
        return {}
    mean = float(np.mean(list(table.values())))
    return {r: round(v - mean, 2) for r, v in sorted(table.items())}


def table_vector(
    table_db: dict[str, float], roles: Sequence[str | None] | None, n: int
) -> np.ndarray:
    """(n,) each channel's role level, NaN where its role is unknown or not in the table."""
    if roles is None or len(roles) != n:
        return np.full(n, np.nan)
    return np.asarray([table_db.get(str(r), np.nan) for r in roles], dtype=np.float64)


def apply_levels(
    audio: np.ndarray, gains_db: np.ndarray, table: np.ndarray, hop: int, strength: float = 1.0
) -> np.ndarray:
    """What LevelledMixer returns for `gains_db` (frames, C), the network's gains streamed over
    `audio` (C, frames * hop), replayed offline."""
    levels = RunningLevels(audio.shape[0])
    out = np.array(gains_db, dtype=np.float64)
    for t in range(out.shape[0]):
        out[t] = levelled(levels, table, audio[:, t * hop : (t + 1) * hop], out[t], strength)
    return out


def levelled(
    levels: RunningLevels,
    table: np.ndarray,
    hop: np.ndarray,
    gains_db: np.ndarray,
    strength: float = 1.0,
) -> np.ndarray:
    """One hop of LevelledMixer: the hop's loudness and the network's gains into `levels`, the
    gains with the table's correction."""
    levels.push(frame_db(hop), gains_db)
    return np.asarray(gains_db + correction_db(table, levels, strength))


def balance_l1(gains_db: np.ndarray, faders_db: np.ndarray) -> tuple[float, int]:
    """(sum, count) of |gain - fader| with each hop's mean over its channels removed, on the
    hops with two faders or more; gains row t is heard on hop t + 1 (zero latency)."""
    g, f = gains_db[:-1], faders_db[1 : len(gains_db)]
    ok = np.isfinite(f) & np.isfinite(g)
    total, count = 0.0, 0
    for row_g, row_f, m in zip(g, f, ok, strict=True):
        if m.sum() >= 2:
            d = row_g[m] - row_f[m]
            total += float(np.abs(d - d.mean()).sum())
            count += int(m.sum())
    return total, count


def learn_levels(
    recordings: Sequence[Any], cuts: Sequence[int], stream: Any
) -> tuple[dict[str, float], dict[str, float]]:
    """The role-level table of recordings (models.learn.recording.Recording) fitted on their
    hops before `cuts`, and the held-out check after them: (table, {"without": L1, "with": L1})
    of the network's gains (`stream(audio, roles) -> (frames, C)`) against the engineer's
    faders, balance only (each hop's mean removed). An empty table where nothing was learned or
    the table did no better on the held-out hops."""
    from models.learn.finetune import engineer_gains

    samples: dict[str, list[float]] = {}
    held: list[tuple[np.ndarray, np.ndarray, list[str | None]]] = []
    for rec, cut in zip(recordings, cuts, strict=True):
        ideal = engineer_gains(rec)
        for a, b, roles in rec.spans():
            lo, hi = a, min(b, cut)
            if hi - lo >= 2:
                audio = rec.audio[:, lo * rec.hop : hi * rec.hop]
                for r, v in fit_role_levels(audio, ideal[lo:hi], roles, rec.hop).items():
                    samples.setdefault(r, []).extend(v)
            lo = max(a, cut)
            if b - lo >= 2:
                held.append((rec.audio[:, lo * rec.hop : b * rec.hop], ideal[lo:b], roles))
    table = role_table(samples)
    if not table or not held:
        return {}, {}
    keys = ["without", *(f"with {s:g}" for s in STRENGTHS)]
    sums = {k: [0.0, 0] for k in keys}
    for audio, faders, roles in held:
        gains = stream(audio, roles)
        vector = table_vector(table, roles, audio.shape[0])
        played = {"without": gains}
        for s in STRENGTHS:
            played[f"with {s:g}"] = apply_levels(audio, gains, vector, recordings[0].hop, s)
        for key, g in played.items():
            total, count = balance_l1(g, faders)
            sums[key][0] += total
            sums[key][1] += count
    l1 = {k: round(v[0] / v[1], 4) if v[1] else float("nan") for k, v in sums.items()}
    best = min(STRENGTHS, key=lambda s: l1[f"with {s:g}"])
    check = {"without": l1["without"], "with": l1[f"with {best:g}"], "strength": best,
             **{k: v for k, v in l1.items() if k != "without"}}  # fmt: skip
    if not check["with"] < check["without"]:
        return {}, check
    return table, check


class LevelledMixer:
    """A gain source (a network) with the engineer's role levels on top (module docstring).
    Until it is told the channels' roles it is the network as it is."""

    uses_roles = True

    def __init__(
        self, inner: GainSource, table_db: dict[str, float], strength: float = 1.0
    ) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"role-level strength {strength} is not within 0..1")
        self.inner = inner
        self.name = inner.name
        self.table_db = dict(table_db)
        self.strength = float(strength)
        self._roles: list[str | None] | None = None
        self._n = 0
        self._table_db = np.zeros(0)
        self._levels = RunningLevels(0)

    def set_roles(self, roles: Sequence[str | None] | None) -> None:
        """Tell the channels' roles; a channel whose role changes (a changeover to another
        band) starts its level afresh, its history being another source's."""
        before = self._roles
        self._roles = list(roles) if roles is not None else None
        tell_roles(self.inner, roles)
        self._table_db = table_vector(self.table_db, self._roles, self._n)
        if before is not None and self._roles is not None and len(before) == self._n:
            changed = [i for i in range(self._n) if i >= len(self._roles)
                       or self._roles[i] != before[i]]  # fmt: skip
            if changed:
                self._levels.forget(np.asarray(changed))

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self.inner.reset(n_channels, sample_rate)
        self._n = n_channels
        self._levels = RunningLevels(n_channels)
        self._table_db = table_vector(self.table_db, self._roles, n_channels)

    def step(self, hop: np.ndarray) -> np.ndarray:
        gains = self.inner.step(hop)  # checks the hop before any state here changes
        if not np.isfinite(self._table_db).any():
            return gains
        hop32 = np.asarray(hop, np.float32)
        return levelled(self._levels, self._table_db, hop32, gains, self.strength)

    def __getattr__(self, name: str) -> Any:  # active_runtime and the like: the network's
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)
