"""Oracle gains: the best non-negative channel gains any gain-only mixer could apply to reach
the target mix, per 50 ms frame (applied with the bridge's ramps) and static per song."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import nnls

from models.data.acoustics import db
from models.data.targets import GAIN_FLOOR_DB, apply_gains

RIDGE = 1e-6
"""Pull towards the static gains, relative to a frame's energy: decides silent frames only."""
SWEEPS = 10
TOLERANCE = 1e-6


@dataclass
class OracleGains:
    frame_db: np.ndarray
    """(frames, channels) gain reached at the end of each frame, dB (floor GAIN_FLOOR_DB)."""
    static_db: np.ndarray
    """(channels,) one gain per channel for the whole song, dB."""


def _nnls_quadratic(h: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """argmin_{g >= 0} 0.5 g'Hg - rhs'g for a positive-definite H."""
    lower = np.linalg.cholesky(h)
    g, _ = nnls(lower.T, solve_triangular(lower, rhs, lower=True), maxiter=50 * len(rhs))
    return g


def _frame_grams(
    channels: np.ndarray, target: np.ndarray, hop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame, the weighted Gram matrices of the ramped gain application.

    In frame t the applied gain is (1 - a) g[t-1] + a g[t], a = (i + 1) / hop. Returns P, Q, R
    (frames, M, M) for the weights (1-a)^2, (1-a) a, a^2 and p, r (frames, M) for (1-a), a.
    """
    m_count, n = channels.shape
    frames = -(-n // hop)
    padded = np.zeros((m_count, frames * hop))
    padded[:, :n] = channels
    y = np.zeros(frames * hop)
    y[:n] = target
    c = padded.reshape(m_count, frames, hop).transpose(1, 0, 2)  # (frames, M, hop)
    yt = y.reshape(frames, hop)  # (frames, hop)
    a = np.arange(1, hop + 1) / hop
    b = 1.0 - a
    grams = [np.matmul(c * w, c.transpose(0, 2, 1)) for w in (b * b, a * b, a * a)]
    p = np.einsum("tmi,ti->tm", c * b, yt)
    r = np.einsum("tmi,ti->tm", c * a, yt)
    return grams[0], grams[1], grams[2], p, r


def oracle_gains(channels: np.ndarray, target: np.ndarray, hop: int) -> OracleGains:
    """Least-squares non-negative gains: channels (M, n) -> target (n,).

    The frame gains minimise the error of the mix made with the bridge's per-sample ramps
    (block coordinate descent over frames, started from independent per-frame solutions).
    """
    channels = channels.astype(np.float64)
    target = np.asarray(target, dtype=np.float64)
    m_count = channels.shape[0]
    big_p, big_q, big_r, p, r = _frame_grams(channels, target, hop)
    frames = len(p)
    eye = np.eye(m_count)

    full = big_p + 2 * big_q + big_r  # a constant gain across the frame
    total = full.sum(axis=0)
    scale = np.trace(total) / m_count + 1e-30
    static = _nnls_quadratic(total + RIDGE * scale * eye, (p + r).sum(axis=0))

    def ridge(h: np.ndarray) -> float:
        return RIDGE * (np.trace(h) / m_count + scale / frames)

    g = np.empty((frames, m_count))
    for t in range(frames):
        lam = ridge(full[t])
        g[t] = _nnls_quadratic(full[t] + lam * eye, p[t] + r[t] + lam * static)
    for _ in range(SWEEPS):
        change = 0.0
        for t in range(frames):
            if t == 0:
                h = full[0] + (big_p[1] if frames > 1 else 0.0)
                rhs = p[0] + r[0]
            else:
                h = big_r[t] + (big_p[t + 1] if t + 1 < frames else 0.0)
                rhs = r[t] - big_q[t] @ g[t - 1]
            if t + 1 < frames:
                rhs = rhs + p[t + 1] - big_q[t + 1] @ g[t + 1]
            lam = ridge(h)
            new = _nnls_quadratic(h + lam * eye, rhs + lam * static)
            change = max(change, float(np.max(np.abs(new - g[t]))))
            g[t] = new
        if change <= TOLERANCE * max(1.0, float(np.max(g))):
            break
    floor = 10 ** (GAIN_FLOOR_DB / 20)
    return OracleGains(
        frame_db=db(np.maximum(g, floor)).astype(np.float32),
        static_db=db(np.maximum(static, floor)).astype(np.float32),
    )


def snr_db(target: np.ndarray, estimate: np.ndarray) -> float:
    """Target-to-error energy ratio in dB."""
    err = np.sum((np.asarray(target, np.float64) - estimate) ** 2)
    return float(10 * np.log10(np.sum(np.asarray(target, np.float64) ** 2) / max(err, 1e-30)))


def oracle_report(
    channels: np.ndarray, target: np.ndarray, oracle: OracleGains, hop: int
) -> dict[str, float]:
    """How close each gain-only mix gets to the target (SNR in dB): RAW (unity sum), RAW at the
    best single master gain, the static oracle and the per-frame oracle."""
    raw = channels.astype(np.float64).sum(axis=0)
    best = float(np.dot(raw, target) / max(np.dot(raw, raw), 1e-30))
    frames = oracle.frame_db.shape[0]
    static = np.tile(oracle.static_db, (frames, 1))
    return {
        "raw": round(snr_db(target, raw), 2),
        "raw_best_master": round(snr_db(target, best * raw), 2),
        "static": round(snr_db(target, apply_gains(channels, static, hop)), 2),
        "frame": round(snr_db(target, apply_gains(channels, oracle.frame_db, hop)), 2),
    }
