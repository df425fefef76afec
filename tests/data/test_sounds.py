"""Real recorded sounds: Hydrogen kits, the sound pools, the augmentations, the second engineer.

Rendering uses the small packages of `scripts/setup.sh dev`: hydrogen-data (GMRockKit),
avldrums.lv2-soundfont (the AVL kits), lmms-common and sonic-pi-samples (sample sets),
timgm6mb-soundfont and fluid-soundfont-gm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.data import augment
from models.data.acoustics import active_rms
from models.data.pools import (
    HELDOUT_POOL,
    LMMS_SAMPLES,
    POOLS,
    SONIC_PI_KIT,
    TRAIN_POOL,
    TRAINING_POOLS,
    WIDE_POOL,
    SoundSource,
    check_pool,
    draw_sounds,
    member_files,
    pool_sources,
)
from tests.data.conftest import RATE, can_render

GM_ROCK = next(m for m in TRAIN_POOL if m.key == "hydrogen:GMRockKit")
SMALL_TRAIN = ("sf:FluidR3_GM", "hydrogen:GMRockKit", "sf2kit:Black_Pearl_4_LV2")
SMALL_HELDOUT = (
    "sf:TimGM6mb", "sf2kit:Red_Zeppelin_4_LV2", "samples:lmms-instruments",
    "samples:sonic-pi-drums",
)  # fmt: skip


def _installed(keys: tuple[str, ...], pool: str) -> bool:
    return can_render() and all(m.locate() is not None for m in pool_sources(pool, keys))


needs_small_pools = pytest.mark.skipif(
    not (_installed(SMALL_TRAIN, "train") and _installed(SMALL_HELDOUT, "heldout")),
    reason="needs hydrogen-data, avldrums.lv2-soundfont, the GM soundfonts and FluidSynth",
)


def _drum_part(hits: list[tuple[float, int, int]]) -> object:
    import pretty_midi as pm

    inst = pm.Instrument(program=0, is_drum=True)
    for t, pitch, vel in hits:
        inst.notes.append(pm.Note(vel, pitch, t, t + 0.1))
    return inst


@pytest.mark.skipif(GM_ROCK.locate() is None, reason="needs hydrogen-data (GMRockKit)")
def test_a_real_kit_plays_its_velocity_layers() -> None:
    from models.data.kits import KitPlayer

    path = GM_ROCK.locate()
    assert path is not None
    player = KitPlayer(path, GM_ROCK.note_map)
    assert len(player.notes[38].layers) >= 3, "GMRockKit's snare is multi-sampled"
    soft = player.render([_drum_part([(0.1, 38, 25)])], RATE)
    loud = player.render([_drum_part([(0.1, 38, 120)])], RATE)
    assert player.layers_used([(38, 25)]) != player.layers_used([(38, 120)])
    for x in (soft, loud):
        assert active_rms(x) > 1e-3 and np.all(np.isfinite(x))
        assert np.abs(x[: int(0.1 * RATE) - 1]).max() == 0.0, "nothing before the hit"
    assert active_rms(loud) > 2 * active_rms(soft)
    # Another recording, not the same sample scaled: the normalised waveforms differ.
    n = min(np.flatnonzero(soft).max(), np.flatnonzero(loud).max())
    corr = np.dot(soft[:n], loud[:n]) / (np.linalg.norm(soft[:n]) * np.linalg.norm(loud[:n]))
    assert corr < 0.95


@pytest.mark.skipif(GM_ROCK.locate() is None, reason="needs hydrogen-data (GMRockKit)")
def test_a_closed_hat_chokes_the_open_hat() -> None:
    from models.data.kits import KitPlayer

    path = GM_ROCK.locate()
    assert path is not None
    player = KitPlayer(path, GM_ROCK.note_map)
    ring = player.render([_drum_part([(0.0, 46, 100)])], RATE)
    pedal = player.render([_drum_part([(0.25, 44, 60)])], RATE)
    choked = player.render([_drum_part([(0.0, 46, 100), (0.25, 44, 60)])], RATE)
    late = slice(int(0.3 * RATE), int(0.5 * RATE))
    assert active_rms(ring[late]) > 1e-3, "the open hat rings on by itself"
    np.testing.assert_allclose(choked[late], pedal[late], atol=1e-6)


def test_the_pools_share_no_sound_source() -> None:
    held = {(m.kind, m.file) for m in HELDOUT_POOL}
    for pool in TRAINING_POOLS:
        assert not {(m.kind, m.file) for m in POOLS[pool]} & held, pool
        assert not {m.key for m in POOLS[pool]} & {m.key for m in HELDOUT_POOL}, pool
    # FluidR3 and its derivative MuseScore_General stay together, in the training pool.
    assert {"sf:FluidR3_GM", "sf:MuseScore_General_Lite"} <= {m.key for m in TRAIN_POOL}
    # The wide pool is the training pool and more, the training pool unchanged in it.
    assert WIDE_POOL[: len(TRAIN_POOL)] == TRAIN_POOL and len(WIDE_POOL) > len(TRAIN_POOL)
    for m in (*WIDE_POOL, *HELDOUT_POOL):
        assert m.licence and m.package, m.key
        if m.kind == "hydrogen-kit":
            assert set(m.note_map) == {36, 37, 38, 42, 44, 46, 49, 51}, m.key


def test_every_installed_member_has_its_files_and_no_file_is_in_both_pools() -> None:
    import hashlib

    from models.data.kits import KitPlayer

    digests: dict[str, set[str]] = {}
    for pool, members in POOLS.items():
        digests[pool] = set()
        for m in members:
            path = m.locate()
            if path is None:
                continue
            if m.kind == "hydrogen-kit":
                player = KitPlayer(path, m.note_map)  # raises on a name the kit lacks
                assert all(inst.layers for inst in player.notes.values())
            for f in member_files(m, path):
                assert f.is_file(), f
                digests[pool].add(hashlib.sha1(f.read_bytes()).hexdigest())
    for pool in TRAINING_POOLS:
        assert not digests[pool] & digests["heldout"], f"a recording is in {pool} and held out"


@pytest.mark.skipif(LMMS_SAMPLES.locate() is None, reason="needs lmms-common")
def test_the_sampler_plays_recorded_notes_at_their_pitch() -> None:
    import pretty_midi as pm

    from models.data.sampler import render_sampled

    folder = LMMS_SAMPLES.locate()
    assert folder is not None
    notes = LMMS_SAMPLES.samples["organ"]
    inst = pm.Instrument(program=19)
    inst.notes.append(pm.Note(100, 64, 0.1, 1.6))  # E4: from the A3 or C4 sample
    inst.notes.append(pm.Note(40, 64, 2.0, 3.5))
    x = render_sampled([inst], notes, folder, 4 * RATE, RATE)
    assert np.abs(x[: int(0.1 * RATE) - 1]).max() == 0.0
    assert np.abs(x[int(1.8 * RATE) : int(1.95 * RATE)]).max() < 1e-6, "released at note end"
    loud, soft = x[int(0.3 * RATE) : int(1.4 * RATE)], x[int(2.2 * RATE) : int(3.3 * RATE)]
    assert active_rms(loud) > 3 * active_rms(soft) > 0
    spec = np.abs(np.fft.rfft(loud * np.hanning(len(loud)), 1 << 18))
    f = np.fft.rfftfreq(1 << 18, 1 / RATE)
    hps = spec.copy()
    for h in (2, 3):
        hps[: len(spec[::h])] *= spec[::h]
    band = (f > 100) & (f < 1000)
    f0 = f[band][np.argmax(hps[band])]
    assert 1200 * abs(np.log2(f0 / 329.63)) < 20, f"E4 played at {f0:.1f} Hz"


@pytest.mark.skipif(SONIC_PI_KIT.locate() is None, reason="needs sonic-pi-samples")
def test_the_sample_kit_plays_two_velocity_layers() -> None:
    from models.data.kits import KitPlayer, sample_kit

    folder = SONIC_PI_KIT.locate()
    assert folder is not None
    player = KitPlayer(folder, instruments=sample_kit(SONIC_PI_KIT.layers))
    assert player.layers_used([(38, 30)]) != player.layers_used([(38, 120)])
    x = player.render([_drum_part([(0.0, 36, 50), (0.5, 38, 110), (1.0, 42, 80)])], 2 * RATE)
    for t in (0.0, 0.5, 1.0):
        hit = x[int(t * RATE) : int((t + 0.05) * RATE)]
        assert active_rms(hit) > 1e-3, t


def test_a_missing_pool_member_is_one_line_naming_the_package(tmp_path: Path) -> None:
    ghost = SoundSource("hydrogen:nope", "hydrogen-kit", "no-such-kit", "some-kit-package", "CC0")
    with pytest.raises(FileNotFoundError) as err:
        check_pool((ghost,), "heldout")
    text = str(err.value)
    assert "\n" not in text and "some-kit-package" in text and "scripts/setup.sh data" in text
    with pytest.raises(ValueError, match="not in the train sound pool"):
        pool_sources("train", ("sf:TimGM6mb",))
    with pytest.raises(ValueError, match="unknown sound pool"):
        pool_sources("everything")


def test_sounds_are_drawn_per_song_within_the_pool() -> None:
    draws = [draw_sounds(TRAIN_POOL, "pop", np.random.default_rng([s, 50])) for s in range(60)]
    fonts = {d.melodic.key for d in draws}
    kits = {d.drums.key for d in draws if d.drums is not None}
    assert fonts == {"sf:FluidR3_GM", "sf:MuseScore_General_Lite"}
    assert len(kits) >= 6 and any(d.drums is None for d in draws)
    jazz = [draw_sounds(TRAIN_POOL, "jazz", np.random.default_rng([s, 50])) for s in range(60)]
    assert not any(d.drums is not None and d.drums.electronic for d in jazz)
    assert all(k in {m.key for m in POOLS["train"]} for k in fonts | kits)


@needs_small_pools
def test_generated_songs_record_disjoint_sources_with_licences() -> None:
    from models.data.synth import SynthConfig, synth_song

    used: dict[str, set[str]] = {}
    for pool, only, engineer in (("train", SMALL_TRAIN, "first"),
                                 ("heldout", SMALL_HELDOUT, "second")):  # fmt: skip
        members = pool_sources(pool, only)
        # The first seeds whose draw plays a real kit (the draw is part of the song's seed).
        seeds = [s for s in range(40) if draw_sounds(
            members, "rock", np.random.default_rng([s, 50])).drums is not None][:1]  # fmt: skip
        used[pool] = set()
        for seed in seeds:
            cfg = SynthConfig(seconds=4.0, style="rock", pool=pool, pool_only=only,
                              engineer=engineer)  # fmt: skip
            data, _ = synth_song(seed, cfg)
            meta = data.song.meta
            assert meta.extra["sound_pool"] == pool
            assert meta.extra["target_rules"]["engineer"] == engineer
            assert [s["part"] for s in meta.sources] == data.song.names
            for s in meta.sources:
                assert s["pool"] == pool and s["licence"] and s["package"]
                used[pool].add(s["source"])
            kit_parts = [s for s in meta.sources if s["part"] in ("Kick", "Snare")]
            assert all(s["kind"] in ("sf2-kit", "hydrogen-kit", "sample-kit") for s in kit_parts)
            assert set(meta.extra["augment"]) == set(data.song.names)
            assert data.sources is not None
            levels = 20 * np.log10([active_rms(x) for x in data.sources])
            np.testing.assert_allclose(levels, -24.0, atol=3.0)
    assert used["train"] and used["heldout"]
    assert not used["train"] & used["heldout"]
    assert used["train"] <= set(SMALL_TRAIN) and used["heldout"] <= set(SMALL_HELDOUT)


def _tone(seconds: float = 2.0, sine: bool = False) -> np.ndarray:
    """A plucked 110 Hz note repeated (a saw, or a pure sine): a stand-in part with dynamics."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = np.sin(2 * np.pi * 110 * t) if sine else 2 * ((110 * t) % 1.0) - 1
    env = np.exp(-((t % 0.5) * 8))
    return (0.3 * wave * env).astype(np.float32)


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(10 * np.log10(spec[(f >= lo) & (f < hi)].sum()))


def _level_range_db(x: np.ndarray) -> float:
    """Dynamics: 90th minus 10th percentile of the 10 ms block levels."""
    blocks = x[: len(x) // 480 * 480].reshape(-1, 480).astype(np.float64)
    levels = 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-20)
    return float(np.percentile(levels, 90) - np.percentile(levels, 10))


@pytest.mark.parametrize(
    "aug",
    [
        augment.Augment(tilt_db=6.0),
        augment.Augment(tilt_db=-6.0),
        augment.Augment(comp_ratio=4.0, comp_threshold_db=-3.0),
        augment.Augment(drive_db=12.0),
        augment.Augment(shift_ms=5.0),
    ],
)
def test_augmentations_change_timbre_but_keep_the_level(aug: augment.Augment) -> None:
    x = _tone(sine=aug.drive_db is not None)
    y = augment.apply(x, aug, RATE)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    # The documented bound: the active RMS does not move (0.1 dB).
    assert 20 * np.log10(active_rms(y) / active_rms(x)) == pytest.approx(0.0, abs=0.1)
    if aug.tilt_db:
        hi_vs_lo = (_band_db(y, 4000, 12000) - _band_db(y, 50, 400)) - (
            _band_db(x, 4000, 12000) - _band_db(x, 50, 400)
        )
        assert hi_vs_lo == pytest.approx(aug.tilt_db, abs=2.5)
    if aug.comp_ratio > 1:
        assert _level_range_db(y) < _level_range_db(x) - 3.0, "compression narrows dynamics"
    if aug.drive_db is not None:
        # A pure tone through the amp: the harmonics come up against the fundamental.
        def harmonics_db(z: np.ndarray) -> float:
            return _band_db(z, 180, 20000) - _band_db(z, 50, 180)

        assert harmonics_db(y) > harmonics_db(x) + 10.0, "harmonics added"
    if aug.shift_ms:
        k = round(aug.shift_ms / 1000 * RATE)
        assert not np.any(y[:k]), "late: silence first"
        np.testing.assert_allclose(y[k:], x[:-k], rtol=0, atol=1e-3 * np.abs(x).max())


def test_drawn_augmentations_stay_in_their_documented_ranges() -> None:
    roles = ["kick", "snare", "drums", "bass", "rhythm", "keys", "lead"]
    for seed in range(50):
        augs = augment.draw_augments(roles, np.random.default_rng([seed, 60]))
        kit = {(a.detune_cents, a.shift_ms) for a, r in zip(augs, roles, strict=True)
               if r in augment.DRUM_ROLES}  # fmt: skip
        assert len(kit) == 1, "the drum parts are one kit: one tuning, one timing"
        for a, role in zip(augs, roles, strict=True):
            assert abs(a.tilt_db) <= augment.TILT_DB
            assert a.comp_ratio == 1.0 or augment.COMP_RATIO[0] <= a.comp_ratio <= 6.0
            assert a.drive_db is None or 0.0 <= a.drive_db <= augment.DRIVE_DB[1]
            limit = augment.KIT_TUNING_CENTS if role in augment.DRUM_ROLES else 15.0
            assert abs(a.detune_cents) <= limit and abs(a.shift_ms) <= augment.SHIFT_MS


def test_synth_names_the_missing_packages_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import models.data.pools as pools
    from bridge.cli import main

    monkeypatch.setattr(pools, "HYDROGEN_DIRS", (tmp_path / "no-kits",))
    code = main(["data", "synth", "--songs", "1", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "hydrogen-drumkits" in err and "scripts/setup.sh data" in err
    assert not (tmp_path / "d").exists(), "nothing written"
    both = main(["data", "synth", "--songs", "1", "--out", str(tmp_path / "d"),
                 "--pool", "heldout", "--soundfont", "x.sf2"])  # fmt: skip
    assert both == 2 and "exclude each other" in capsys.readouterr().err


@pytest.mark.skipif(
    LMMS_SAMPLES.locate() is None or SONIC_PI_KIT.locate() is None or not can_render(),
    reason="needs lmms-common, sonic-pi-samples and the data extras",
)
def test_a_song_played_entirely_from_sample_sets() -> None:
    from models.data.synth import SynthConfig, synth_song

    only = ("sf:TimGM6mb", "samples:lmms-instruments", "samples:sonic-pi-drums")
    # Seed 33 (blues, 4 s) draws the Sonic Pi kit and the sampler for every melodic part.
    cfg = SynthConfig(seconds=4.0, style="blues", pool="heldout", pool_only=only)
    data, _ = synth_song(33, cfg)
    kinds = {s["kind"] for s in data.song.meta.sources}
    assert kinds == {"sample-kit", "sample-set"}
    assert data.sources is not None
    assert all(active_rms(x) > 1e-3 for x in data.sources)
