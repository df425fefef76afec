"""The balance oracle: static gains that reach the balance metric's optimum, through bleed."""

from __future__ import annotations

import numpy as np
import pytest

from models.eval.balance import (
    BalanceTruth,
    active_blocks,
    balance_errors,
    block_powers,
    k_weight,
    target_levels,
)
from models.eval.balance_oracle import balance_oracle, block_weights
from models.eval.run import sanity_flag

RATE = 48_000


def bleeding_song(seed: int = 0) -> tuple[BalanceTruth, np.ndarray]:
    """Three sources, each in its own channel and bleeding at -12 dB into the other two; the
    target carries them at 0, -6 and +3 dB, the second one silent for its first half second."""
    rng = np.random.default_rng(seed)
    n = 2 * RATE
    src = 0.05 * rng.standard_normal((3, n))
    src[1, : RATE // 2] = 0.0
    bleed = 10 ** (-12 / 20)
    contributions = np.zeros((3, 3, n), dtype=np.float32)
    for c in range(3):
        for u in range(3):
            contributions[c, u] = src[u] * (1.0 if c == u else bleed)
    want_db = np.array([0.0, -6.0, 3.0])
    target = (src * 10 ** (want_db[:, None] / 20)).astype(np.float32)
    return BalanceTruth(["a", "b", "c"], ["lead", "bass", "keys"], contributions, target), want_db


def test_block_weights_give_the_mean_power_of_the_active_blocks() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2 * RATE + 1234)
    x[:RATE] *= 1e-5  # quiet first second: gated out
    power = block_powers(k_weight(x, RATE), RATE)
    mask = active_blocks(power)
    assert 0 < mask.sum() < len(mask)
    w = block_weights(mask, len(x), RATE)
    assert np.sum(w) == pytest.approx(1.0)
    assert np.sum(w * k_weight(x, RATE) ** 2) == pytest.approx(np.mean(power[mask]), rel=1e-9)


def test_balance_oracle_reaches_zero_balance_error_through_bleed() -> None:
    truth, _ = bleeding_song()
    levels = target_levels(truth, RATE)
    n = truth.target.shape[1]
    start = np.zeros(3)
    before = balance_errors(truth, levels, np.ones((3, n)), RATE)
    assert np.max(np.abs(before)) > 3.0  # unity gains are off by several dB
    gains = balance_oracle(truth, levels, RATE, start)
    curve = np.repeat(10 ** (gains[:, None] / 20), n, axis=1)
    after = balance_errors(truth, levels, curve, RATE)
    assert np.max(np.abs(after)) < 0.1
    assert np.mean(gains) == pytest.approx(0.0, abs=1e-9)  # the overall level is the start's


def test_the_balance_oracle_judges_no_song() -> None:
    """Not optimised for MR-STFT, it may be worse than RAW there: that flags nothing."""
    rows = [{"system": "balance-oracle", "mrstft_matched": 2.0},
            {"system": "static-oracle", "mrstft_matched": 0.5}]  # fmt: skip
    assert sanity_flag(rows, 1.0) is None
    rows[1]["mrstft_matched"] = 1.5
    assert sanity_flag(rows, 1.0) == "not a gain mix of its channels: static-oracle worse than RAW"
