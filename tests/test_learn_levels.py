"""Learned role levels (models.learn.levels): the running level holds while a channel rests, the
table read from an engineer's faders is the engineer's, and the mixer on top of a network moves
only the balance, within its bound, and only channels it knows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.gainsource import (
    InputAudioError,
    UnityGains,
    checkpoint_path,
    make_gain_source,
    tell_roles,
)
from models.learn.finetune import LearnConfig, LearnError, fine_tune
from models.learn.levels import (
    MAX_CORRECTION_DB,
    STRENGTHS,
    TRUST_HOPS,
    LevelledMixer,
    RunningLevels,
    fit_role_levels,
    frame_db,
    role_table,
)
from models.learn.recording import Recording
from models.learn.userdata import list_models

HOP = 2400


def noise(levels_db: list[float], hops: int, seed: int = 0) -> np.ndarray:
    """(C, hops * HOP) noise, channel c at levels_db[c] dBFS (RMS)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((len(levels_db), hops * HOP)).astype(np.float32)
    return x * (10.0 ** (np.asarray(levels_db, np.float32) / 20.0))[:, None]


def test_the_running_level_holds_while_a_channel_rests() -> None:
    levels = RunningLevels(2)
    playing = noise([-20.0, -30.0], 200)
    for t in range(200):
        levels.push(frame_db(playing[:, t * HOP : (t + 1) * HOP]), np.array([3.0, -2.0]))
    assert np.allclose(levels.level_db, [-20.0, -30.0], atol=0.3)
    assert np.allclose(levels.mean_gain_db, [3.0, -2.0])
    # channel 0 rests: 35 dB lower (bleed) for 30 s, channel 1 plays on at a new level
    rest = noise([-55.0, -24.0], 600, seed=1)
    for t in range(600):
        levels.push(frame_db(rest[:, t * HOP : (t + 1) * HOP]), np.array([3.0, -2.0]))
    assert abs(levels.level_db[0] + 20.0) < 0.3  # held: bleed is not its level
    assert abs(levels.level_db[1] + 24.0) < 0.5  # followed


def test_the_table_is_the_engineers_levels_over_loudness() -> None:
    """An engineer who puts the lead 6 dB over the bass and the pad 4 dB under it, whatever
    each channel's input level, gives that table (centred)."""
    roles = ["lead", "bass", "pad", None]
    samples: dict[str, list[float]] = {}
    for seed, inputs in enumerate(([-18.0, -30.0, -24.0, -40.0], [-26.0, -20.0, -33.0, -22.0])):
        audio = noise(inputs, 300, seed)
        want = {"lead": 6.0, "bass": 0.0, "pad": -4.0}
        faders = np.array([want.get(str(r), 0.0) - v for r, v in zip(roles, inputs, strict=True)])
        faders = np.tile(faders + 5.0 * seed, (300, 1))  # a per-song offset: only balance counts
        faders[:, 3] = np.nan  # not the engineer's
        for r, v in fit_role_levels(audio, faders, roles, HOP).items():
            samples.setdefault(r, []).extend(v)
    table = role_table(samples)
    assert set(table) == {"lead", "bass", "pad"}
    assert abs(table["lead"] - table["bass"] - 6.0) < 0.3
    assert abs(table["pad"] - table["bass"] + 4.0) < 0.3
    assert abs(sum(table.values())) < 0.05


class Fixed(UnityGains):
    """A stand-in network with fixed gains (the wrapper's arithmetic is what is tested)."""

    def __init__(self, gains: list[float]) -> None:
        self.gains = np.asarray(gains, dtype=np.float64)

    def step(self, hop: np.ndarray) -> np.ndarray:
        super().step(hop)
        return self.gains.copy()


def run(mixer: LevelledMixer, audio: np.ndarray) -> np.ndarray:
    mixer.reset(audio.shape[0], 48_000)
    return np.array(
        [mixer.step(audio[:, t * HOP : (t + 1) * HOP]) for t in range(audio.shape[1] // HOP)]
    )


def test_the_mixer_moves_the_balance_to_the_table_and_nothing_else() -> None:
    audio = noise([-20.0, -26.0, -30.0, -24.0], 100)
    inner = Fixed([0.0, 2.0, -1.0, 4.0])
    table = {"lead": 3.0, "bass": 0.0, "pad": -3.0}
    mixer = LevelledMixer(inner, table)
    assert np.allclose(run(mixer, audio), inner.gains)  # no roles told: the network as it is
    mixer.set_roles(["lead", "bass", "pad", None])
    out = run(mixer, audio)[-1]
    assert out[3] == inner.gains[3]  # no role: untouched
    moved = out[:3] - inner.gains[:3]
    assert abs(moved.sum()) < 1e-9  # centred: the overall level stays the network's
    heard = out[:3] + np.array([-20.0, -26.0, -30.0])  # each channel's level in the mix
    assert np.allclose(heard - heard.mean(), [3.0, 0.0, -3.0], atol=0.3)


def test_the_move_is_bounded_and_bad_audio_is_refused_before_any_state() -> None:
    audio = noise([-10.0, -50.0], 50)
    mixer = LevelledMixer(Fixed([0.0, 0.0]), {"lead": 20.0, "pad": -20.0})
    mixer.set_roles(["lead", "pad"])
    out = run(mixer, audio)
    assert np.abs(out).max() <= MAX_CORRECTION_DB + 1e-9
    bad = audio[:, :HOP].copy()
    bad[0, 5] = np.nan
    before = mixer._levels.level_db.copy()
    try:
        mixer.step(bad)
    except InputAudioError:
        pass
    else:
        raise AssertionError("NaN audio was accepted")
    assert np.array_equal(mixer._levels.level_db, before)


def _levelling_person() -> tuple[Recording, list[str | None]]:
    """20 s of four channels whose person puts each role at its level over its loudness."""
    hops, inputs = 400, [-14.0, -30.0, -22.0, -36.0]
    roles: list[str | None] = ["lead", "bass", "pad", "keys"]
    want = {"lead": 8.0, "bass": 2.0, "pad": -6.0, "keys": -4.0}
    rng = np.random.default_rng(3)
    swell = 1.0 + 0.5 * np.sin(np.linspace(0.0, 9.0, hops * HOP))[None, :].astype(np.float32)
    audio = noise(inputs, hops, seed=3) * swell
    faders = np.tile([want[str(r)] - v for r, v in zip(roles, inputs, strict=True)], (hops, 1))
    faders += rng.normal(0.0, 0.2, faders.shape)  # a hand, not a table
    rec = Recording("person", ["Vox", "Bass", "Pad", "Keys"], 48_000, HOP, audio,
                    faders - faders.mean(), faders.copy(), np.ones(faders.shape, bool),
                    listen=True, roles=roles)  # fmt: skip
    return rec, roles


def test_a_fine_tune_keeps_the_role_levels_of_a_person_who_levels_by_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real fine-tune on a recording whose faders put each role at its level over the
    channel's loudness: the table is learned, checked on the held-out hops, written to the
    sidecar, and the learned gain source plays it (once told the roles)."""
    rec, roles = _levelling_person()
    out = tmp_path / "taste.pt"
    cfg = LearnConfig(steps=10, validate_every=5, blend=1.0)
    fine_tune([rec], checkpoint_path("alm-mr"), out, cfg=cfg, log=lambda _: None)
    meta = json.loads(out.with_suffix(".json").read_text())
    table = meta["training"]["role_levels_db"]
    check = meta["metrics"]["heldout_balance_l1_db"]
    assert check["with"] < check["without"]
    # the strength kept is the one of the grid that did best on the held-out hops
    strength = meta["training"]["role_levels_strength"]
    assert strength == check["strength"] in STRENGTHS
    assert check["with"] == min(check[f"with {s:g}"] for s in STRENGTHS)
    assert abs((table["lead"] - table["bass"]) - 6.0) < 0.5
    assert abs((table["pad"] - table["keys"]) + 2.0) < 0.5
    source = make_gain_source(str(out))
    assert isinstance(source, LevelledMixer) and source.table_db == table
    assert source.strength == strength
    assert tell_roles(source, roles)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "ailive" / "models"
    folder.mkdir(parents=True)
    for ext in (".pt", ".json"):
        (folder / f"taste{ext}").write_bytes(out.with_suffix(ext).read_bytes())
    entry = next(e for e in list_models() if e.name == "taste")
    assert "your levels: lead +" in entry.detail  # the largest first: what `ailive models` says
    assert ("of the way" in entry.detail) == (strength < 1.0)


def test_a_refused_fine_tune_still_keeps_the_persons_levels_on_the_base(tmp_path: Path) -> None:
    """A fine-tune that does not move the network (lr 0) is no better than the base: the base's
    weights are saved with the role levels, which do help; without levels nothing is saved."""
    rec, _ = _levelling_person()
    out = tmp_path / "levels.pt"
    cfg = LearnConfig(steps=2, lr=0.0, validate_every=1, blend=1.0)
    fine_tune([rec], checkpoint_path("alm-mr"), out, cfg=cfg, log=lambda _: None)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["training"]["network"].startswith("the base's")
    assert meta["training"]["role_levels_db"]
    base = torch.load(checkpoint_path("alm-mr"), weights_only=True)
    saved = torch.load(out, weights_only=True)
    assert all(torch.equal(base[k], saved[k]) for k in base)
    bare = tmp_path / "bare.pt"
    cfg.levels = False
    with pytest.raises(LearnError, match="refused"):
        fine_tune([rec], checkpoint_path("alm-mr"), bare, cfg=cfg, log=lambda _: None)
    assert not bare.exists()


def test_strength_moves_part_of_the_way_and_a_changeover_starts_afresh() -> None:
    audio = noise([-20.0, -26.0, -30.0], 100)
    inner = Fixed([0.0, 2.0, -1.0])
    table = {"lead": 3.0, "bass": 0.0, "pad": -3.0}
    roles: list[str | None] = ["lead", "bass", "pad"]
    full, half = LevelledMixer(inner, table), LevelledMixer(inner, table, strength=0.5)
    for mixer in (full, half):
        mixer.set_roles(roles)
    moved_full = run(full, audio)[-1] - inner.gains
    moved_half = run(half, audio)[-1] - inner.gains
    assert np.abs(moved_full).max() > 1.0
    assert np.allclose(moved_half, 0.5 * moved_full, atol=1e-9)
    with pytest.raises(ValueError, match="strength"):
        LevelledMixer(inner, table, strength=1.5)
    # The band changes: the pad channel now carries a quiet keys part. Its old level (a loud
    # pad) must not set the new part's fader; the two unchanged channels keep their history.
    full.set_roles(["lead", "bass", "keys"])
    assert np.isnan(full._levels.level_db[2])
    assert np.isfinite(full._levels.level_db[:2]).all()


@pytest.mark.parametrize("strength", ["half", 1.5])
def test_a_corrupt_strength_in_a_sidecar_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strength: object
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    out = tmp_path / "xdg" / "ailive" / "models" / "bad.pt"
    out.parent.mkdir(parents=True)
    out.write_bytes(checkpoint_path("alm-mr").read_bytes())
    meta = json.loads(checkpoint_path("alm-mr").with_suffix(".json").read_text())
    meta["weights"] = out.name
    meta["training"]["role_levels_db"] = {"lead": 3.0, "bass": -3.0}
    meta["training"]["role_levels_strength"] = strength
    out.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="role levels are not a table") as err:
        make_gain_source(str(out))
    assert "\n" not in str(err.value)
    # `ailive models` lists it (with the error where it cannot read it), it does not crash
    entry = next(e for e in list_models() if e.name == "bad")
    assert ("not a table" in entry.error) == isinstance(strength, str)


def test_a_level_heard_for_a_moment_moves_its_fader_only_a_little() -> None:
    """The correction grows with the frames a channel has played: a tenth of TRUST_HOPS in, a
    tenth of the way; from TRUST_HOPS on, all of it."""
    audio = noise([-20.0, -26.0, -30.0], TRUST_HOPS + 20)
    inner = Fixed([0.0, 2.0, -1.0])
    mixer = LevelledMixer(inner, {"lead": 3.0, "bass": 0.0, "pad": -3.0})
    mixer.set_roles(["lead", "bass", "pad"])
    moved = run(mixer, audio) - inner.gains
    early, full = moved[TRUST_HOPS // 10 - 1], moved[-1]
    assert np.abs(full).max() > 1.0
    assert np.allclose(early, full / 10, atol=0.1)
    assert np.allclose(moved[TRUST_HOPS - 1], full, atol=0.05)
