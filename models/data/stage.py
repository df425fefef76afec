"""Live-stage simulation: a random room, sources on a stage, cardioid close mics, DI channels,
input trims before and after the bleed, mic self-noise, and the measured bleed matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.data.acoustics import (
    active_rms,
    autocorrelations,
    convolve_mix,
    convolve_pairs,
    db,
    direction,
    image_energies,
)

NO_BLEED_DB = -120.0
"""Bleed-matrix value of a source that never reaches a mic (DI channels, sources off stage)."""


@dataclass(frozen=True)
class StageConfig:
    """The random ranges of the stage simulation (every draw comes from the song's seed)."""

    rt60_s: tuple[float, float] = (0.2, 1.2)
    room_m: tuple[tuple[float, float], ...] = ((7.0, 16.0), (6.0, 14.0), (3.0, 7.0))
    """Width (x), length (y, the audience towards y = 0) and height ranges."""
    mic_distance_m: tuple[float, float] = (0.05, 0.5)
    pre_trim_db: float = 12.0
    """Sources play at +-this (uniform) around their nominal level: the acoustic level on stage."""
    post_trim_db: float = 12.0
    """Each console input's trim: +-this (uniform), after the bleed."""
    noise_dbfs: tuple[float, float] = (-90.0, -70.0)
    """RMS of the mic / preamp self-noise of a miked channel (DI channels: 10 dB lower)."""
    peak_dbfs: tuple[float, float] = (-12.0, -3.0)
    """Peak of the loudest channel."""
    staging_dbfs: float = -30.0
    """Gain staging: before its random trim, every channel's own source is brought to this
    active RMS, as an engineer sets input gains at soundcheck (a close mic at 5 cm and a DI
    would otherwise differ by 30 dB and more, far beyond what faders correct)."""
    ism_order: int = 10
    """Image-method order: the late tail beyond it is left out (bleed within ~0.5 dB)."""
    bleed_db: tuple[float, float] = (-40.0, -3.0)
    """Every miked channel's bleed (each other on-stage source, relative to its own) stays in it."""
    di_probability: dict[str, float] = field(
        default_factory=lambda: {"bass": 0.7, "keys": 0.75, "pad": 0.9, "strings": 0.7}
    )
    amp_on_stage: float = 0.5
    """Probability that a DI source also sounds on stage (a backline amp) and bleeds elsewhere."""


# Where each role stands: (x from stage centre, y from the stage front, z) ranges, in metres,
# and the direction its close mic comes from (unit vector before a random tilt).
_PLACES: dict[str, tuple[tuple[float, float], tuple[float, float], float, tuple[float, ...]]] = {
    "kick": ((-0.6, 0.6), (2.4, 3.2), 0.35, (0.0, -1.0, 0.0)),
    "snare": ((-0.6, 0.6), (2.4, 3.2), 0.65, (0.0, -0.5, 0.85)),
    "drums": ((-0.6, 0.6), (2.4, 3.2), 0.95, (0.0, 0.0, 1.0)),
    "bass": ((1.6, 3.5), (1.5, 3.0), 0.45, (0.0, -1.0, 0.0)),
    "rhythm": ((-3.5, -1.6), (1.2, 3.0), 0.45, (0.0, -1.0, 0.0)),
    "keys": ((2.0, 4.0), (0.8, 2.2), 0.9, (0.0, -1.0, 0.3)),
    "pad": ((-4.0, -2.0), (0.8, 2.2), 0.9, (0.0, -1.0, 0.3)),
    "strings": ((-4.0, -2.0), (0.5, 2.0), 1.2, (0.0, -1.0, 0.4)),
    "brass": ((2.0, 4.0), (0.3, 1.5), 1.4, (0.0, -1.0, 0.2)),
    "solo": ((-2.2, 2.2), (0.2, 1.4), 1.4, (0.0, -1.0, 0.1)),
    "lead": ((-0.8, 0.8), (0.2, 0.9), 1.6, (0.0, -1.0, -0.15)),
}
_DRUM_OFFSETS = {"kick": (0.0, 0.0), "snare": (-0.35, -0.25), "drums": (-0.6, -0.1)}


@dataclass
class StagePlan:
    """One drawn stage: everything needed to redo the simulation, as stored in song.json."""

    room_m: list[float]
    rt60_s: float
    ism_order: int
    sources_m: list[list[float] | None]
    """Position of each channel's source on stage, None when it is not heard in the room."""
    mics_m: list[list[float] | None]
    """Close mic position of each channel, None for a DI channel."""
    di: list[bool]
    pre_trims_db: list[float]
    post_trims_db: list[float]
    noise_dbfs: list[float]
    input_gain_db: float = 0.0
    """Common gain that sets the loudest channel's peak (after the trims)."""
    staging_db: list[float] = field(default_factory=list)
    """Per-channel soundcheck gain (before the post trim); empty in songs made before it."""

    def mic_distance_m(self, m: int) -> float | None:
        src, mic = self.sources_m[m], self.mics_m[m]
        return None if src is None or mic is None else float(np.linalg.norm(np.subtract(mic, src)))

    def to_json(self) -> dict[str, Any]:
        return {
            "room_m": [round(v, 3) for v in self.room_m],
            "rt60_s": round(self.rt60_s, 3),
            "ism_order": self.ism_order,
            "sources_m": [None if p is None else [round(v, 3) for v in p] for p in self.sources_m],
            "mics_m": [None if p is None else [round(v, 4) for v in p] for p in self.mics_m],
            "di": self.di,
            "pre_trims_db": [round(v, 2) for v in self.pre_trims_db],
            "post_trims_db": [round(v, 2) for v in self.post_trims_db],
            "noise_dbfs": [round(v, 1) for v in self.noise_dbfs],
            "input_gain_db": round(self.input_gain_db, 3),
            "staging_db": [round(v, 3) for v in self.staging_db],
        }


def _unit(v: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a / np.linalg.norm(a)


MAX_ABSORPTION = 0.9


def min_rt60_s(dims: Sequence[float]) -> float:
    """The shortest RT60 (Sabine) a shoebox reaches with wall absorption MAX_ABSORPTION."""
    x, y, z = dims
    volume, surface = x * y * z, 2 * (x * y + x * z + y * z)
    return 24 * np.log(10) / 343.0 * volume / (surface * MAX_ABSORPTION)


def draw_stage(roles: Sequence[str], rng: np.random.Generator, cfg: StageConfig) -> StagePlan:
    """Room, positions, DI choices, mic directions and distances, trims and noise levels."""
    dims = [float(rng.uniform(*r)) for r in cfg.room_m]
    width, length, _ = dims
    front = length - float(rng.uniform(3.5, min(4.5, length - 1.5)))  # the stage's front edge
    centre = width / 2 + float(rng.uniform(-0.15, 0.15)) * width
    kit = np.array(
        [float(rng.uniform(*_PLACES["kick"][0])), float(rng.uniform(*_PLACES["kick"][1]))]
    )
    sources: list[list[float] | None] = []
    mics: list[list[float] | None] = []
    di: list[bool] = []
    for role in roles:
        xr, yr, z, aim = _PLACES.get(role, _PLACES["keys"])
        if role in _DRUM_OFFSETS:
            dx, dy = kit + np.array(_DRUM_OFFSETS[role])
        else:
            dx, dy = float(rng.uniform(*xr)), float(rng.uniform(*yr))
        pos = np.array([centre + dx, front + dy, z + float(rng.normal(0.0, 0.05))])
        pos = np.clip(pos, 0.4, np.array(dims) - 0.4)
        is_di = bool(rng.random() < cfg.di_probability.get(role, 0.0))
        on_stage = not is_di or bool(rng.random() < cfg.amp_on_stage)
        tilt = rng.normal(0.0, [0.35, 0.2, 0.25])
        u = _unit(np.asarray(aim) + tilt)
        dist = float(np.exp(rng.uniform(*np.log(cfg.mic_distance_m))))
        mic = np.clip(pos + dist * u, 0.1, np.array(dims) - 0.1)
        sources.append(pos.tolist() if on_stage else None)
        mics.append(None if is_di else mic.tolist())
        di.append(is_di)
    n = len(roles)
    return StagePlan(
        room_m=dims,
        rt60_s=float(rng.uniform(max(cfg.rt60_s[0], min_rt60_s(dims)), cfg.rt60_s[1])),
        ism_order=cfg.ism_order,
        sources_m=sources,
        mics_m=mics,
        di=di,
        # Rounded as stored in song.json, so the stored plan redoes the simulation exactly.
        pre_trims_db=np.round(rng.uniform(-cfg.pre_trim_db, cfg.pre_trim_db, n), 2).tolist(),
        post_trims_db=np.round(rng.uniform(-cfg.post_trim_db, cfg.post_trim_db, n), 2).tolist(),
        noise_dbfs=[round(float(rng.uniform(*cfg.noise_dbfs)) - 10.0 * d, 1) for d in di],
    )


def room_indices(plan: StagePlan) -> tuple[list[int], list[int]]:
    """(channels with a close mic, channels whose source sounds in the room)."""
    mics = [m for m, p in enumerate(plan.mics_m) if p is not None]
    sources = [s for s, p in enumerate(plan.sources_m) if p is not None]
    return mics, sources


def room_rirs(plan: StagePlan, sample_rate: int) -> np.ndarray:
    """Impulse responses (room mics, room sources, taps), rounded to float16 as stored."""
    import pyroomacoustics as pra
    from pyroomacoustics.directivities import Cardioid, DirectionVector

    mics, sources = room_indices(plan)
    if not mics or not sources:
        return np.zeros((len(mics), len(sources), 1), dtype=np.float16)
    absorption, _ = pra.inverse_sabine(plan.rt60_s, plan.room_m)
    room = pra.ShoeBox(
        plan.room_m, fs=sample_rate, materials=pra.Material(absorption), max_order=plan.ism_order
    )
    for s in sources:
        room.add_source(plan.sources_m[s])
    for m in mics:
        mic = np.asarray(plan.mics_m[m])
        src = np.asarray(plan.sources_m[m] if plan.sources_m[m] is not None else mic)
        azimuth, colatitude = direction(mic, src)
        aim = DirectionVector(azimuth=azimuth, colatitude=colatitude, degrees=True)
        room.add_microphone(mic, directivity=Cardioid(aim))
    room.compute_rir()
    # pyroomacoustics centres a fractional-delay filter on each path: drop its half length.
    delay = pra.constants.get("frac_delay_length") // 2
    taps = max(len(room.rir[i][j]) for i in range(len(mics)) for j in range(len(sources))) - delay
    out = np.zeros((len(mics), len(sources), taps), dtype=np.float16)
    for i in range(len(mics)):
        for j in range(len(sources)):
            h = np.asarray(room.rir[i][j])[delay:]
            out[i, j, : len(h)] = h
    return out


def bleed_matrix(plan: StagePlan, energies: np.ndarray, n_channels: int) -> list[list[float]]:
    """bleed[m][s] dB: source s in mic m relative to mic m's own source (from image energies)."""
    mics, sources = room_indices(plan)
    out = [[NO_BLEED_DB] * n_channels for _ in range(n_channels)]
    pre = np.asarray(plan.pre_trims_db)
    for m in range(n_channels):
        out[m][m] = 0.0
    for i, m in enumerate(mics):
        if m not in sources:
            continue
        own = energies[i, sources.index(m)] * 10 ** (pre[m] / 10)
        for j, s in enumerate(sources):
            if s != m:
                level = energies[i, j] * 10 ** (pre[s] / 10)
                out[m][s] = round(float(db(np.sqrt(level / max(own, 1e-30)))), 2)
    return out


def _fit_distances(plan: StagePlan, bleed: list[list[float]], cfg: StageConfig) -> bool:
    """Move close mics nearer or farther so each row of bleed lands in cfg.bleed_db.

    Close to its source a mic's own level goes as 1/distance while the bleed barely changes,
    so a row shifts by about 20 log10(new / old distance). Returns False when all fit.
    """
    lo, hi = cfg.bleed_db[0] + 1.5, cfg.bleed_db[1] - 1.5
    moved = False
    for m, row in enumerate(bleed):
        dist = plan.mic_distance_m(m)
        others = [v for s, v in enumerate(row) if s != m and v > NO_BLEED_DB]
        if dist is None or not others:
            continue
        shift = 0.0
        if max(others) > hi:
            shift = hi - max(others)
        elif min(others) < lo:
            shift = min(lo - min(others), hi - max(others))
        if abs(shift) < 0.05:
            continue
        new = float(np.clip(dist * 10 ** (shift / 20), *cfg.mic_distance_m))
        if abs(new - dist) < 1e-4:
            continue
        src = np.asarray(plan.sources_m[m])
        mic = np.asarray(plan.mics_m[m])
        plan.mics_m[m] = (src + (mic - src) * new / dist).tolist()
        moved = True
    return moved


def in_range(bleed: list[list[float]], cfg: StageConfig) -> bool:
    vals = [
        v for m, row in enumerate(bleed) for s, v in enumerate(row) if s != m and v > NO_BLEED_DB
    ]
    return all(cfg.bleed_db[0] <= v <= cfg.bleed_db[1] for v in vals)


MAX_DRAWS = 6
MAX_FITS = 4


@dataclass
class StageResult:
    plan: StagePlan
    channels: np.ndarray
    """(channels, samples) float32: what the console receives, noise included."""
    rirs: np.ndarray
    """(room mics, room sources, taps) float16: the responses the channels were made with."""
    clean: np.ndarray
    """(S, n) float32 own_images(): each channel without bleed, noise and post trim."""
    bleed_db: list[list[float]]
    bleed_in_range: bool
    draws: int


def _gains(plan: StagePlan) -> tuple[np.ndarray, np.ndarray]:
    """Linear pre-bleed (per source) and post-bleed (per channel, with the input gain) gains."""
    pre = 10 ** (np.asarray(plan.pre_trims_db) / 20)
    staging = np.asarray(plan.staging_db) if plan.staging_db else 0.0
    post = 10 ** ((np.asarray(plan.post_trims_db) + staging + plan.input_gain_db) / 20)
    return pre, post


def channel_images(sources: np.ndarray, plan: StagePlan, rirs: np.ndarray) -> np.ndarray:
    """sources: (S, n) dry -> (channels, S, n): each source's image in each console channel."""
    n_ch, n = sources.shape
    pre, post = _gains(plan)
    mics, room_src = room_indices(plan)
    out = np.zeros((n_ch, n_ch, n), dtype=np.float32)
    if mics and room_src:
        x = sources[room_src] * pre[room_src, None].astype(np.float32)
        images = convolve_pairs(x, rirs.astype(np.float32))  # (mics, room src, n)
        for i, m in enumerate(mics):
            out[m, room_src] = images[i] * post[m]
    for m in range(n_ch):
        if plan.di[m]:
            out[m, m] = sources[m] * pre[m] * post[m]
    return out


def own_images(sources: np.ndarray, plan: StagePlan, rirs: np.ndarray) -> np.ndarray:
    """(S, n): each source as its own channel carries it without bleed, noise and post trim.

    These "clean channels" are what the target mix is made of (an engineer mixes the channels,
    and would keep them if they had no bleed).
    """
    pre, _ = _gains(plan)
    mics, room_src = room_indices(plan)
    dry = sources * pre[:, None].astype(np.float32)
    out = dry.copy()
    if mics and room_src:
        own = [room_src.index(m) for m in mics]
        clean = convolve_mix(dry[room_src], rirs.astype(np.float32), own)[1]
        assert clean is not None
        out[mics] = clean
    return out


def simulate_stage(
    sources: np.ndarray,
    roles: Sequence[str],
    rng: np.random.Generator,
    cfg: StageConfig,
    sample_rate: int,
) -> StageResult:
    """Place the dry sources (channels, n) on a random stage and record them as a console would.

    Stages are redrawn (up to MAX_DRAWS) and mics moved (up to MAX_FITS times) until every
    miked channel's bleed lies in cfg.bleed_db; `bleed_in_range` says whether that succeeded.
    """
    n_ch = sources.shape[0]
    if len(roles) != n_ch:
        raise ValueError(f"{n_ch} sources but {len(roles)} roles")
    acf = np.zeros((n_ch, 0))
    plan = draw_stage(roles, rng, cfg)
    rirs = room_rirs(plan, sample_rate)
    bleed: list[list[float]] = []
    draws = 0
    for draws in range(1, MAX_DRAWS + 1):
        if draws > 1:
            plan = draw_stage(roles, rng, cfg)
            rirs = room_rirs(plan, sample_rate)
        for _ in range(MAX_FITS):
            mics, room_src = room_indices(plan)
            if acf.shape[1] < rirs.shape[2]:
                acf = autocorrelations(sources, rirs.shape[2] + 4096)
            energies = image_energies(acf[room_src], rirs.astype(np.float64))
            bleed = bleed_matrix(plan, energies, n_ch)
            if in_range(bleed, cfg) or not _fit_distances(plan, bleed, cfg):
                break
            rirs = room_rirs(plan, sample_rate)
        if in_range(bleed, cfg):
            break
    pre, _ = _gains(plan)
    mics, room_src = room_indices(plan)
    dry = sources * pre[:, None].astype(np.float32)
    channels = dry.copy()
    clean = dry.copy()
    if mics and room_src:
        own = [room_src.index(m) for m in mics]
        channels[mics], clean_mics = convolve_mix(dry[room_src], rirs.astype(np.float32), own)
        assert clean_mics is not None
        clean[mics] = clean_mics
    plan.staging_db = [
        round(cfg.staging_dbfs - float(db(active_rms(c))), 3) if np.any(c) else 0.0 for c in clean
    ]
    trims = np.asarray(plan.post_trims_db) + np.asarray(plan.staging_db)
    channels *= (10 ** (trims / 20)).astype(np.float32)[:, None]
    peak = float(np.max(np.abs(channels)))
    plan.input_gain_db = round(float(rng.uniform(*cfg.peak_dbfs)) - float(db(peak)), 3)
    channels *= np.float32(10 ** (plan.input_gain_db / 20))
    noise = rng.standard_normal(channels.shape).astype(np.float32)
    noise *= (10 ** (np.asarray(plan.noise_dbfs, dtype=np.float32) / 20))[:, None]
    return StageResult(plan, channels + noise, rirs, clean, bleed, in_range(bleed, cfg), draws)
