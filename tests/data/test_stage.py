"""Stage simulation: bleed in range, DI without bleed, trims recorded and applied, noise."""

from __future__ import annotations

import numpy as np
import pytest

from models.data.acoustics import active_rms
from models.data.stage import NO_BLEED_DB, StageConfig, channel_images, own_images, simulate_stage
from tests.data.conftest import RATE, needs_room, noise_sources

pytestmark = needs_room

ROLES = ["kick", "snare", "drums", "bass", "rhythm", "keys", "lead"]


def _stage(seed: int, cfg: StageConfig | None = None) -> tuple[np.ndarray, object]:
    src = noise_sources(len(ROLES), 3.0, seed)
    return src, simulate_stage(src, ROLES, np.random.default_rng(seed), cfg or StageConfig(), RATE)


@pytest.fixture(scope="module")
def staged() -> tuple[np.ndarray, object]:
    # Bass and keys always DI here, so both kinds of channel are tested.
    cfg = StageConfig(di_probability={"bass": 1.0, "keys": 1.0}, amp_on_stage=1.0)
    return _stage(3, cfg)


def test_bleed_of_miked_channels_is_in_range_and_di_has_none(staged: tuple) -> None:
    _, res = staged
    bleed = np.array(res.bleed_db)
    assert bleed.shape == (7, 7)
    assert np.allclose(np.diag(bleed), 0.0)
    assert res.bleed_in_range
    for m, role in enumerate(ROLES):
        row = np.delete(bleed[m], m)
        if res.plan.di[m]:
            assert role in ("bass", "keys")
            assert np.all(row == NO_BLEED_DB), f"DI channel {role} has bleed: {row}"
        else:
            assert np.all((row >= -40.0) & (row <= -3.0)), f"{role} mic: {row}"
    # The DI sources' amps are on stage: they bleed into the mics.
    assert np.all(bleed[0, [3, 5]] > NO_BLEED_DB)


def test_room_and_mics_are_within_the_configured_ranges(staged: tuple) -> None:
    _, res = staged
    plan = res.plan
    assert 0.2 <= plan.rt60_s <= 1.2
    for m in range(len(ROLES)):
        d = plan.mic_distance_m(m)
        if plan.di[m]:
            assert d is None and plan.mics_m[m] is None
        else:
            assert d is not None and 0.05 - 1e-6 <= d <= 0.5 + 1e-6
    assert all(abs(v) <= 12.0 for v in plan.pre_trims_db + plan.post_trims_db)


def test_channels_are_the_images_plus_noise_with_the_trims_applied(staged: tuple) -> None:
    src, res = staged
    plan = res.plan
    images = channel_images(src, plan, res.rirs.astype(np.float32))
    residual = res.channels - images.sum(axis=1)
    for m in range(len(ROLES)):
        noise_db = 20 * np.log10(np.sqrt(np.mean(residual[m].astype(np.float64) ** 2)))
        assert noise_db == pytest.approx(plan.noise_dbfs[m], abs=0.5)
        if plan.di[m]:
            gain_db = (
                plan.pre_trims_db[m]
                + plan.staging_db[m]
                + plan.post_trims_db[m]
                + plan.input_gain_db
            )
            expected = src[m] * 10 ** (gain_db / 20)
            np.testing.assert_allclose(images[m, m], expected, rtol=1e-5, atol=1e-7)
    clean = own_images(src, plan, res.rirs)
    np.testing.assert_array_equal(clean, res.clean)
    post = 10 ** (
        (np.array(plan.post_trims_db) + np.array(plan.staging_db) + plan.input_gain_db) / 20
    )
    for m in range(len(ROLES)):
        np.testing.assert_allclose(images[m, m], clean[m] * post[m], rtol=1e-4, atol=1e-7)


def test_gain_staging_levels_every_channel_before_its_trim(staged: tuple) -> None:
    # As at soundcheck: a 5 cm kick mic and a DI bass arrive at the same level before the
    # random trims, so the spread of input levels is the trims' (+-12 dB), not the mics'.
    _, res = staged
    cfg = StageConfig()
    for m in range(len(ROLES)):
        staged_db = 20 * np.log10(active_rms(res.clean[m])) + res.plan.staging_db[m]
        assert staged_db == pytest.approx(cfg.staging_dbfs, abs=0.01)


def test_measured_bleed_matches_the_image_levels(staged: tuple) -> None:
    src, res = staged
    images = channel_images(src, res.plan, res.rirs)
    level = 20 * np.log10(np.sqrt(np.mean(images.astype(np.float64) ** 2, axis=2)) + 1e-20)
    for m in range(len(ROLES)):
        if res.plan.di[m]:
            continue
        for s in range(len(ROLES)):
            if s != m:
                # The images keep the first n samples; the matrix counts the whole tail.
                assert level[m, s] - level[m, m] == pytest.approx(res.bleed_db[m][s], abs=0.6)


def test_trims_change_the_input_levels() -> None:
    _, res = _stage(5)
    levels = 20 * np.log10(np.sqrt(np.mean(res.channels.astype(np.float64) ** 2, axis=1)))
    assert np.ptp(levels) > 6.0, "random trims spread the console input levels"
    peak = 20 * np.log10(np.max(np.abs(res.channels)))
    assert -12.5 <= peak <= -2.5


def test_same_seed_same_stage_and_channels() -> None:
    src, a = _stage(7)
    b = simulate_stage(src, ROLES, np.random.default_rng(7), StageConfig(), RATE)
    np.testing.assert_array_equal(a.channels, b.channels)
    assert a.plan.to_json() == b.plan.to_json()
    _, c = _stage(8)
    assert c.plan.to_json() != a.plan.to_json()


def test_every_drawn_room_can_have_its_rt60() -> None:
    import pyroomacoustics as pra

    from models.data.stage import draw_stage

    cfg = StageConfig()
    rng = np.random.default_rng(0)
    for _ in range(300):
        plan = draw_stage(ROLES, rng, cfg)
        assert cfg.rt60_s[0] <= plan.rt60_s <= cfg.rt60_s[1]
        absorption, _ = pra.inverse_sabine(plan.rt60_s, plan.room_m)  # raises if impossible
        assert 0.0 < absorption <= 0.9 + 1e-9
        assert all(
            0.0 < v < d for p in plan.sources_m if p for v, d in zip(p, plan.room_m, strict=True)
        )
