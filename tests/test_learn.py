"""Learn mode: the recording format, the user's models folder, the fine-tune's refusal, and the
whole loop (record on the virtual X32 with a scripted person, learn, reload, mix)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.rehearsal import rehearse
from models.gainsource import checkpoint_path, make_gain_source
from models.learn.finetune import LearnConfig, LearnError, fine_tune
from models.learn.recording import (
    ENGINEER,
    MODEL,
    UNKNOWN,
    Recording,
    RecordingError,
    format_row,
    header,
    read_flac_partial,
    read_recording,
    who,
)
from models.learn.userdata import check_name, find_learned, list_models, models_dir
from tests.paced import moving_song

HOP = 2400
TASTE = np.array([-12.0, -4.0, 2.0, -20.0])
"""The scripted person's balance: far from what the model proposes for this song."""


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def ailive(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "XDG_DATA_HOME": str(env_home), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_whose_fader_each_hop_is() -> None:
    assert who(listen=True, state="auto", fader_known=True) == ENGINEER
    assert who(listen=False, state="human", fader_known=True) == ENGINEER
    assert who(listen=False, state="auto", fader_known=True) == MODEL
    assert who(listen=False, state="locked", fader_known=True) == MODEL
    assert who(listen=True, state="auto", fader_known=False) == UNKNOWN


def _write_killed(folder: Path, hops: int, cut_last_line: bool) -> np.ndarray:
    """A learn recording whose writer died: FLAC flushed but never closed, a CSV line cut."""
    n = 3
    (folder / "learn.json").write_text(
        json.dumps({"names": ["a", "b", "c"], "sample_rate": 48_000, "hop": HOP})
    )
    audio = (np.random.default_rng(0).standard_normal((hops * HOP, n)) * 0.1).astype(np.float32)
    flac = sf.SoundFile(
        folder / "channels.flac", "w", samplerate=48_000, channels=n, format="FLAC",
        subtype="PCM_24",
    )  # fmt: skip
    flac.write(audio)
    flac.flush()
    rows = [",".join(header(n)) + "\n"]
    for k in range(hops):
        rows.append(format_row(0.05 * (k + 1), [-3.0, None, -6.0], np.zeros(n),
                               ["human", "auto", "auto"], listen=False))  # fmt: skip
    text = "".join(rows)
    if cut_last_line:
        text = text[:-7]
    (folder / "learn.csv").write_text(text)
    shutil.copy(folder / "channels.flac", folder / "copy.flac")  # as the kill left it
    flac.close()
    shutil.move(folder / "copy.flac", folder / "channels.flac")
    return audio


def test_a_killed_recording_reads_back_to_its_last_flush(tmp_path: Path) -> None:
    audio = _write_killed(tmp_path, hops=40, cut_last_line=True)
    rec = read_recording(tmp_path)
    assert rec.hops == 39  # the cut line is dropped
    assert rec.audio.shape == (3, 39 * HOP)
    assert np.allclose(rec.audio, audio[: 39 * HOP].T, atol=1e-6)  # 24-bit
    assert rec.engineer[:, 0].all() and not rec.engineer[:, 1:].any()
    assert np.isnan(rec.faders_db[:, 1]).all() and (rec.faders_db[:, 0] == -3.0).all()
    partial, rate = read_flac_partial(tmp_path / "channels.flac")
    assert rate == 48_000 and partial.shape[1] <= 40 * HOP


def test_a_folder_without_a_recording_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="record the show with `--learn`"):
        read_recording(tmp_path)


def test_models_live_in_the_xdg_data_folder(xdg: Path) -> None:
    assert models_dir() == xdg / "ailive" / "models"
    with pytest.raises(ValueError, match="no path"):
        check_name("../evil")
    with pytest.raises(ValueError, match="shipped gain source"):
        check_name("alm-mr")
    assert find_learned("my-venue") is None
    names = [(e.name, e.kind) for e in list_models()]
    assert ("alm-mr", "shipped") in names and all(k == "shipped" for _, k in names)


def _person_recording(tmp_path: Path, seconds: float = 6.0) -> Path:
    """The scripted person holds TASTE (with a slow ride on channel 3) on the virtual X32 while
    the model listens."""
    song = moving_song(4, seconds)
    hops = song.audio.shape[1] // HOP
    ride = 2.0 * np.sin(np.linspace(0, 2 * np.pi, hops))
    person = np.tile(TASTE, (hops, 1))
    person[:, 2] += ride
    return rehearse(song, person, make_gain_source("alm-mr"), tmp_path / "shows")


def test_the_fine_tune_refuses_a_model_no_better_than_the_base(tmp_path: Path) -> None:
    rec = read_recording(_person_recording(tmp_path, seconds=4.0))
    out = tmp_path / "m" / "same.pt"
    with pytest.raises(LearnError, match="refused"):
        fine_tune([rec], checkpoint_path("alm-mr"), out, cfg=LearnConfig(steps=2, lr=0.0))
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_a_head_only_fine_tune_with_distillation_leaves_the_rest_as_the_base(
    tmp_path: Path,
) -> None:
    import torch

    from models.checkpoint import load_model

    rec = read_recording(_person_recording(tmp_path))
    out = tmp_path / "m" / "head.pt"
    cfg = LearnConfig(steps=40, lr=1e-3, train="head", distill=0.5, validate_every=10)
    fine_tune([rec], checkpoint_path("alm-mr"), out, cfg=cfg)
    base = load_model(checkpoint_path("alm-mr")).state_dict()
    learned = load_model(out).state_dict()
    moved = {k.split(".")[0] for k in base if not torch.equal(base[k], learned[k])}
    assert moved and moved <= {"te3", "mlp"}
    assert json.loads(out.with_suffix(".json").read_text())["training"]["learn"]["train"] == "head"


def test_the_balance_loss_learns_the_persons_balance_and_is_recorded(tmp_path: Path) -> None:
    from models.checkpoint import load_model
    from models.eval.systems import stream_gains

    rec = read_recording(_person_recording(tmp_path))
    out = tmp_path / "m" / "balance.pt"
    cfg = LearnConfig(steps=40, lr=1e-3, loss="balance", validate_every=10)
    seen: list[int] = []
    result = fine_tune([rec], checkpoint_path("alm-mr"), out, cfg=cfg,
                       on_validate=lambda step, net: seen.append(step))  # fmt: skip
    assert seen == [10, 20, 30, 40]
    assert result.learned_loss < result.base_loss
    assert (
        json.loads(out.with_suffix(".json").read_text())["training"]["learn"]["loss"] == "balance"
    )
    assert isinstance(load_model(out), type(load_model(checkpoint_path("alm-mr"))))

    def balance_gap(source: str) -> float:
        gains = stream_gains(make_gain_source(source), rec.audio, HOP, rec.sample_rate)[-40:]
        spread = gains.mean(axis=0) - TASTE
        return float(np.abs(spread - spread.mean()).mean())

    assert balance_gap(str(out)) < balance_gap("alm-mr")


def test_the_blend_pulls_every_weight_part_of_the_way_back_to_the_base() -> None:
    import torch

    from models.learn.finetune import blended

    base = {"w": torch.tensor([0.0, 2.0]), "n": torch.tensor(3)}
    tuned = {"w": torch.tensor([1.0, -2.0]), "n": torch.tensor(5)}
    out = blended(base, tuned, 0.7)
    assert torch.allclose(out["w"], torch.tensor([0.7, -0.8]))
    assert int(out["n"]) == 5
    assert torch.equal(blended(base, tuned, 1.0)["w"], tuned["w"])


def test_a_blend_out_of_range_is_one_clear_error(tmp_path: Path) -> None:
    rec = read_recording(_person_recording(tmp_path, seconds=2.0))
    with pytest.raises(LearnError, match="blend must be"):
        fine_tune([rec], checkpoint_path("alm-mr"), tmp_path / "x.pt",
                  cfg=LearnConfig(steps=1, blend=0.0))  # fmt: skip
    assert not (tmp_path / "x.pt").exists()


def test_an_unknown_loss_is_one_clear_error(tmp_path: Path) -> None:
    rec = read_recording(_person_recording(tmp_path, seconds=2.0))
    with pytest.raises(LearnError, match="loss must be"):
        fine_tune([rec], checkpoint_path("alm-mr"), tmp_path / "x.pt",
                  cfg=LearnConfig(steps=1, loss="mse"))  # fmt: skip
    assert not (tmp_path / "x.pt").exists()


def test_an_unknown_part_to_train_is_one_clear_error(tmp_path: Path) -> None:
    rec = read_recording(_person_recording(tmp_path, seconds=2.0))
    with pytest.raises(LearnError, match="train must be"):
        fine_tune([rec], checkpoint_path("alm-mr"), tmp_path / "x.pt",
                  cfg=LearnConfig(steps=1, train="gru"))  # fmt: skip


def test_no_engineer_hops_is_nothing_to_learn(tmp_path: Path) -> None:
    rec = read_recording(_person_recording(tmp_path, seconds=2.0))
    none = Recording(rec.name, rec.names, rec.sample_rate, rec.hop, rec.audio, rec.faders_db,
                     rec.model_db, np.zeros_like(rec.engineer))  # fmt: skip
    with pytest.raises(LearnError, match="not enough of the engineer's mix"):
        fine_tune([none], checkpoint_path("alm-mr"), tmp_path / "x.pt", cfg=LearnConfig(steps=1))


def test_record_learn_reload_mix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole loop on a short show: a scripted person mixes on the virtual X32 (listen
    mode), `ailive learn` fine-tunes, `ailive models` lists it, `--gain-source NAME` mixes."""
    home = tmp_path / "xdg"
    show = _person_recording(tmp_path)
    rec = read_recording(show)
    # The recording is the person's mix: every fader, every hop, within a fader step.
    assert rec.hops == 120 and rec.engineer.all()
    expected = np.tile(TASTE, (rec.hops, 1))
    expected[:, 2] += 2.0 * np.sin(np.linspace(0, 2 * np.pi, rec.hops))
    assert np.abs(rec.faders_db - expected).max() < 0.2
    assert not np.allclose(rec.model_db, rec.faders_db, atol=1.0)  # the model proposed its own
    assert json.loads((show / "summary.json").read_text())["learn"]["hops"] == 120

    res = ailive("learn", str(show), "--base", "alm-mr", "--name", "my-venue", "--steps", "40",
                 env_home=home)  # fmt: skip
    assert res.returncode == 0, res.stderr
    model = home / "ailive" / "models" / "my-venue.pt"
    assert f"model: {model}" in res.stdout and (home / "ailive/models/my-venue-curve.png").is_file()
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["training"]["learned_from"] == [show.name] and meta["training"]["base"] == "alm-mr"
    assert meta["metrics"]["heldout_loss_db"] < meta["metrics"]["base_heldout_loss_db"]
    again = ailive("learn", str(show), "--name", "my-venue", env_home=home)
    assert again.returncode == 2 and "--force" in again.stderr  # never overwritten silently

    listed = ailive("models", "--json", env_home=home)
    assert listed.returncode == 0, listed.stderr
    entries = {e["name"]: e for e in json.loads(listed.stdout)}
    assert entries["my-venue"]["kind"] == "learned" and entries["alm-mr"]["kind"] == "shipped"

    # Reload by name and mix the same song: its balance is nearer the person's than the base's.
    def balance_error(name: str) -> float:
        from models.eval.systems import stream_gains

        gains = stream_gains(make_gain_source(name), rec.audio, HOP, 48_000)[-40:]
        rel = gains - gains.mean(axis=1, keepdims=True)
        want = expected[-40:] - expected[-40:].mean(axis=1, keepdims=True)
        return float(np.abs(rel - want).mean())

    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    assert balance_error("my-venue") < balance_error("alm-mr")


def test_demo_learn_records_channels_and_faders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--learn", "--mode", "listen", "--gain-source", "autofader", "--out", str(out)]
    res = ailive("demo", "--headless", "--fast", "--seconds", "2", *args, env_home=tmp_path / "x")
    assert res.returncode == 0, res.stderr
    (show,) = out.iterdir()
    rec = read_recording(show)
    assert rec.hops == 40 and rec.audio.shape == (8, 40 * HOP) and rec.listen
    # Listen mode: every fader the client has read is the engineer's (all of them once read).
    assert (rec.engineer == np.isfinite(rec.faders_db)).all() and rec.engineer[-1].all()
    assert np.abs(rec.audio).max() > 0.01


def test_the_tui_shows_learning_and_the_minutes_recorded(tmp_path: Path) -> None:
    """With --learn the master panel says learning is on and how much of the engineer's mix
    is recorded (listen mode without a console: every hop counts)."""
    import asyncio

    from textual.widgets import Static

    from bridge.journal import new_show_dir
    from bridge.recorder import LearnTap, attach_recorder
    from bridge.sources import SteppedSource
    from bridge.tui import make_app
    from tests.paced import paced_show, until

    stepped = SteppedSource(moving_song(2, 30.0), loop=True)
    tap = LearnTap(stepped)
    show = paced_show(source=tap, folder=new_show_dir(tmp_path))
    attach_recorder(show, tap, [], listen=True)

    async def body() -> None:
        app = make_app(show)
        async with app.run_test(size=(100, 30)) as pilot:

            def text() -> str:
                return str(app.query_one("#info", Static).content)

            stepped.step_to(599)  # 600 hops: half a minute
            await until(pilot, lambda: "hop 599 " in text())
            assert "learning: 0.5 min of engineer's mix recorded" in text()
            await pilot.press("q")

    asyncio.run(body())
    show.write_outputs()
    show.close()
    assert read_recording(show.folder).hops == 600  # type: ignore[arg-type]


def _channels(folder: Path, n: int = 3, seconds: float = 3.0) -> list[Path]:
    rng = np.random.default_rng(2)
    (folder / "channels").mkdir(parents=True)
    paths = []
    for i in range(n):
        p = folder / "channels" / f"{i + 1:02d}_ch{i + 1}.flac"
        sf.write(p, (rng.standard_normal(int(48_000 * seconds)) * 0.1).astype(np.float32), 48_000)
        paths.append(p)
    return paths


def test_a_reaper_project_imports_as_the_engineer_s_mix(tmp_path: Path) -> None:
    from bridge.outputs.rpp.writer import write_automation
    from models.learn.imports import from_rpp

    sources = _channels(tmp_path)
    t = np.arange(1, 61) * 0.05
    gains = np.stack([np.linspace(-10, 0, 60), np.full(60, -3.0), np.linspace(0, -20, 60)], 1)
    write_automation(tmp_path / "show.RPP", ["a", "b", "c"], t, gains, sources=sources)
    rec = from_rpp(tmp_path / "show.RPP")
    assert rec.names == ["a", "b", "c"] and rec.hops == 60 and rec.engineer.all()
    assert np.abs(rec.faders_db - gains).max() < 0.15  # the envelope's 0.1 dB simplification
    assert np.allclose(rec.audio[1], sf.read(sources[1], dtype="float32")[0][: 60 * HOP])


def test_a_folder_with_a_gains_csv_imports_and_bad_input_is_one_line(xdg: Path) -> None:
    from bridge.outputs.automation import AutomationRecorder
    from models.learn.imports import from_folder

    folder = xdg.parent / "song"
    _channels(folder)
    rec = AutomationRecorder(["a", "b", "c"])
    for k in range(60):
        rec.send(np.array([-6.0, -1.0 * k / 10, 3.0]), 0.05 * (k + 1))
    rec.write_csv(xdg.parent / "gains.csv")
    got = from_folder(folder, xdg.parent / "gains.csv")
    assert got.hops == 60 and np.allclose(got.faders_db[:, 0], -6.0)
    res = ailive("learn", "--gains", str(folder), str(folder / "nope.csv"), "--name", "x",
                 env_home=xdg)  # fmt: skip
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = ailive("learn", "--name", "x", env_home=xdg)
    assert res.returncode == 2 and "at least one" in res.stderr
