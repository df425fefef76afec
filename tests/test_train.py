"""Training: configs, the paper's MR-STFT sizes, a tiny overfit run, checkpoints and resume,
the zero-latency shift inside the loss, and DDP over two CPU processes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.alm import apply_gains_zero_latency, offline_forward
from models.checkpoint import load_model, read_sidecar
from models.train.batches import Sequence, balance_loss, chunk_ideal, gain_loss, mix_output
from models.train.config import ConfigError, TrainConfig, config_from_dict, load_config
from models.train.features import EmbeddingCache
from models.train.loop import Trainer
from models.train.losses import LOSSES, make_loss, mrstft_sizes
from tests.tiny_data import tiny_dataset

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "models" / "train" / "configs" / "tiny.toml"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory)


def tiny(data: Path, **changes: object) -> TrainConfig:
    return dataclasses.replace(load_config(TINY), data=str(data), **changes)  # type: ignore[arg-type]


def test_every_shipped_config_loads() -> None:
    for path in sorted((REPO / "models" / "train" / "configs").glob("*.toml")):
        cfg = load_config(path)
        assert cfg.name == path.stem and cfg.loss in LOSSES
    og, b0l = (load_config(TINY.parent / f"{n}.toml") for n in ("dmc-og", "dmc-b-0l"))
    assert (og.bleed, og.latency) == (False, "none") and (b0l.bleed, b0l.latency) == (True, "zero")


def test_bad_configs_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndata = "d"\nmode = "fast"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: mode must be one of mr, sr"):
        load_config(bad)
    with pytest.raises(ValueError, match="unknown field"):
        config_from_dict({"name": "x", "data": "d", "epochs": 3})
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("nope")


def test_mrstft_uses_the_papers_resolutions_at_48k() -> None:
    ffts, hops, wins = mrstft_sizes(48_000)
    assert wins == [480, 960, 3840] and hops == [120, 240, 960] and ffts == [512, 1024, 4096]
    loss = make_loss("mrstft")
    x = torch.randn(2, 48_000)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(0.5 * x, x)) > 0.1


def test_zero_latency_mixing_applies_frame_t_gains_to_frame_t_plus_1() -> None:
    frame = 4
    audio = torch.ones(1, 1, 3 * frame)
    gains = torch.tensor([[[2.0, 3.0, 5.0]]])
    zero = mix_output(audio, gains, frame, "zero", None)[0]
    assert zero[:frame].tolist() == [1.0] * frame  # frame 0: unity (nothing predicted yet)
    assert zero[2 * frame - 1] == 2.0 and zero[3 * frame - 1] == 3.0  # ramped, reached at end
    none = mix_output(audio, gains, frame, "none", None)[0]
    assert none[frame - 1] == 2.0 and none[3 * frame - 1] == 5.0


def test_training_loss_hears_the_shifted_gains(data: Path) -> None:
    trainer = Trainer(tiny(data), data / "runs")
    song = trainer.train_songs[0]
    phase = trainer.geometry.default_phase(song.n_channels)
    seq = Sequence([song], [0], [phase], 20, 20)
    trainer.model.eval()
    with torch.no_grad():
        loss, _, _ = trainer._chunk_loss(trainer.model, seq, 0, 20, False, None, None)
        from models.train.batches import chunk_inputs

        emb, rms, mask, audio, target = chunk_inputs(seq, 0, 20, trainer.geometry)
        z, _ = trainer.model(emb, rms, mask, None)
        gains = trainer.model.gain.to_linear(z)
        shifted = apply_gains_zero_latency(audio, gains, trainer.geometry.frame, ramp=True)
        same_frame = mix_output(audio, gains, trainer.geometry.frame, "none", None)
    assert float(loss) == pytest.approx(float(trainer.loss_fn(shifted, target)), rel=1e-6)
    assert float(loss) != pytest.approx(float(trainer.loss_fn(same_frame, target)), rel=1e-6)


def test_loss_decreases_on_a_tiny_overfit_run(data: Path, tmp_path: Path) -> None:
    cfg = tiny(data, steps=15, frozen_steps=12, lr=1e-2, finetune_lr=1e-3, batch=1,
               sequence_s=3.0, chunk_s=3.0, validate_every=100, checkpoint_every=100)  # fmt: skip
    trainer = Trainer(cfg, tmp_path)
    trainer.val_songs = trainer.train_songs  # overfit: measure on the training song itself
    before = trainer.validation_loss(refresh=False)
    trainer.run()
    after = trainer.validation_loss(refresh=True)
    assert after < before - 0.02, (before, after)


def test_checkpoint_round_trip_and_resume(data: Path, tmp_path: Path) -> None:
    cfg = tiny(data)
    result = Trainer(cfg, tmp_path).run()
    run = tmp_path / "tiny"
    assert (run / "last.pt").is_file() and (run / "curve.png").read_bytes()[:4] == b"\x89PNG"
    meta = read_sidecar(run / "tiny.json")
    assert meta["training"]["steps"] == 4 and meta["metrics"]["validation_loss"] is not None
    assert result["validation_loss"] == meta["metrics"]["validation_loss"]
    model = load_model(run / "tiny.pt")
    audio = _song_audio(data)
    trained = Trainer(cfg, tmp_path, resume=True)  # resumes the finished run at step 4
    assert trained.step == 4 and len(trained.history["train"]) == 4
    assert trained.best is not None
    trained.model.load_state_dict(trained.best[1])
    trained.model.eval()
    with torch.no_grad():
        a, _ = offline_forward(model, audio)
        b, _ = offline_forward(trained.model, audio)
    assert torch.equal(a, b)
    longer = Trainer(dataclasses.replace(cfg, steps=6), tmp_path, resume=True)
    longer.run()
    history = json.loads((run / "history.json").read_text())
    assert [s for s, _ in history["train"]] == [1, 2, 3, 4, 5, 6]


def _song_audio(data: Path) -> torch.Tensor:
    from models.song import load_song

    song = load_song(next((data / "test").iterdir()))
    return torch.from_numpy(song.audio[None, :, : 48_000 * 2])


@pytest.mark.slow
def test_ddp_two_cpu_processes_run_a_step(data: Path, tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip("torchrun is not installed beside this Python")
    cfg = tmp_path / "ddp.toml"
    text = TINY.read_text().replace('data = "data/tiny"', f'data = "{data}"')
    cfg.write_text(
        text.replace("steps = 4", "steps = 2").replace("frozen_steps = 2", "frozen_steps = 1")
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "bridge", "train",
         "--config", str(cfg), "--out", str(tmp_path / "runs")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = read_sidecar(tmp_path / "runs" / "tiny" / "tiny.json")
    assert meta["training"]["processes"] == 2 and meta["training"]["steps"] == 2
    shutil.rmtree(tmp_path / "runs")


def test_gain_supervision_aims_each_prediction_at_the_frame_it_is_heard_on(data: Path) -> None:
    trainer = Trainer(tiny(data, gain_loss_weight=0.1), data / "runs-gain")
    song = trainer.train_songs[0]
    assert song.ideal_db is not None and song.ideal_db.shape == song.rms_db.shape
    phase = trainer.geometry.default_phase(song.n_channels)
    seq = Sequence([song], [3], [phase], 10, 10)
    zero = chunk_ideal(seq, 0, 10, shift=1)
    assert zero is not None and torch.equal(zero[0], song.ideal_db[:, 4:14])
    pred = song.ideal_db[None, :, 4:14].clone()
    assert float(gain_loss(pred, zero, -40.0, 50.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(gain_loss(pred + 3.0, zero, -40.0, 50.0)) == pytest.approx(3.0, abs=1e-4)
    tail = chunk_ideal(seq, song.n_frames - 5, 10, shift=1)  # past the end: unknown (NaN)
    assert tail is not None and torch.isnan(tail[0, :, 4:]).all()


def test_centered_gain_loss_scores_only_the_balance() -> None:
    ideal = torch.tensor([[[-10.0, -10.0], [0.0, 0.0], [float("nan"), float("nan")]]])
    offset = ideal.nan_to_num(0.0) + 6.0  # every known channel 6 dB up: same balance
    assert float(gain_loss(offset, ideal, -40.0, 24.0, centered=True)) == pytest.approx(0.0)
    assert float(gain_loss(offset, ideal, -40.0, 24.0)) == pytest.approx(6.0)
    wrong = offset.clone()
    wrong[0, 0] += 4.0  # channel 0 4 dB too loud against channel 1: 2 dB each after centring
    assert float(gain_loss(wrong, ideal, -40.0, 24.0, centered=True)) == pytest.approx(2.0)


def test_balance_loss_scores_each_channels_level_where_it_plays() -> None:
    ideal = torch.tensor([[[-10.0, -10.0, -10.0], [0.0, 0.0, 0.0], [float("nan")] * 3]])
    rms = torch.tensor([[[-20.0, -20.0, -20.0], [-30.0, -30.0, -30.0], [-20.0] * 3]])
    same = ideal.nan_to_num(0.0) + 6.0  # every channel 6 dB up: the same balance
    assert float(balance_loss(same, ideal, rms, -40.0, 24.0)) == pytest.approx(0.0, abs=1e-5)
    wrong = same.clone()
    wrong[0, 0] += 4.0  # channel 0 4 dB too loud against channel 1: 2 dB each after centring
    assert float(balance_loss(wrong, ideal, rms, -40.0, 24.0)) == pytest.approx(2.0, abs=1e-4)
    quiet = rms.clone()
    quiet[0, 0, 0] = -120.0  # a frame where channel 0 is silent: its gain there is not heard
    moved = same.clone()
    moved[0, 0, 0] += 20.0
    assert float(balance_loss(moved, ideal, quiet, -40.0, 24.0)) < 0.01
    assert float(gain_loss(moved, ideal, -40.0, 24.0, centered=True)) > 1.0
    silent = torch.full_like(rms, -120.0)  # nothing plays: no balance to score
    assert float(balance_loss(wrong, ideal, silent, -40.0, 24.0)) == 0.0


def test_the_balance_term_adds_the_balance_of_the_frames_the_gains_are_heard_on(
    data: Path,
) -> None:
    from models.alm.output import output_db
    from models.train.batches import chunk_inputs

    plain = Trainer(tiny(data), data / "runs")
    weighted = Trainer(tiny(data, balance_loss_weight=2.0), data / "runs")
    weighted.model.load_state_dict(plain.model.state_dict())
    song = plain.train_songs[0]
    assert song.ideal_db is not None
    seq = Sequence([song], [2], [plain.geometry.default_phase(song.n_channels)], 20, 20)
    plain.model.eval()
    weighted.model.eval()
    with torch.no_grad():
        base, _, _ = plain._chunk_loss(plain.model, seq, 0, 20, False, None, None)
        total, _, _ = weighted._chunk_loss(weighted.model, seq, 0, 20, False, None, None)
        emb, rms, mask, _, _ = chunk_inputs(seq, 0, 20, plain.geometry)
        z, _ = plain.model(emb, rms, mask, None)
        g_db = output_db(plain.model.gain, z, None, None)
        ideal = song.ideal_db[None, :, 3:23]  # zero latency: frame t's gain is heard on t + 1
        heard = song.rms_db[None, :, 3:23]
        rng = plain.model.gain
        term = balance_loss(g_db, ideal, heard, rng.min_db, rng.max_db)
    assert float(term) > 0.0
    assert float(total) == pytest.approx(float(base) + 2.0 * float(term), rel=1e-5)


def test_level_matched_loss_ignores_the_overall_level() -> None:
    loss = make_loss("mrstft-floor-matched")
    x = torch.randn(2, 48_000) * 0.1
    assert float(loss(0.25 * x, x)) == pytest.approx(0.0, abs=1e-4)
    assert float(make_loss("mrstft-floor")(0.25 * x, x)) > 0.1
    other = torch.randn(2, 48_000) * 0.1
    assert float(loss(x + other, x)) > 0.1


def test_training_loss_hears_the_corrected_slewed_gains(data: Path) -> None:
    """With an auto-fader base and a slew limit, the loss mixes with exactly the gains the
    streaming runner would output (models.alm.output), carried across chunks."""
    from models.alm.output import output_db
    from models.train.batches import chunk_base, chunk_inputs

    gain = {"min_db": -40.0, "max_db": 24.0, "base": "autofader", "max_step_db": 1.2}
    cfg = tiny(data, model={**load_config(TINY).model, "gain": gain})
    trainer = Trainer(cfg, data / "runs-base")
    song = trainer.train_songs[0]
    assert song.base_db is not None and song.base_db.shape == song.rms_db.shape
    phase = trainer.geometry.default_phase(song.n_channels)
    seq = Sequence([song], [5], [phase], 20, 10)
    prev = torch.full((1, song.n_channels), -3.0)
    trainer.model.eval()
    with torch.no_grad():
        loss, _, last = trainer._chunk_loss(trainer.model, seq, 0, 10, False, None, prev)
        emb, rms, mask, audio, target = chunk_inputs(seq, 0, 10, trainer.geometry)
        z, _ = trainer.model(emb, rms, mask, None)
        base = chunk_base(seq, 0, 10)
        g = output_db(trainer.model.gain, z, base, prev)
        mix = apply_gains_zero_latency(
            audio, 10 ** (g / 20), trainer.geometry.frame, 10 ** (prev / 20), ramp=True
        )
    assert torch.equal(base[0], song.base_db[:, 5:15])
    assert float(loss) == pytest.approx(float(trainer.loss_fn(mix, target)), rel=1e-6)
    assert torch.allclose(last, g[..., -1])
    assert float(torch.diff(torch.cat([prev[..., None], g], -1)).abs().max()) <= 1.2 + 1e-5


def test_a_run_can_start_from_a_checkpoint_and_refuses_another_network(
    data: Path, tmp_path: Path
) -> None:
    first = Trainer(tiny(data), tmp_path).run()
    cont = Trainer(tiny(data, name="cont", init=first["checkpoint"]), tmp_path)
    source = load_model(Path(first["checkpoint"]))
    for key, value in source.state_dict().items():
        assert torch.equal(cont.model.state_dict()[key], value), key
    assert cont.embedding_stats["initialised_from"] == "tiny.pt"
    other = {**load_config(TINY).model, "gru_hidden": 8}
    with pytest.raises(ValueError, match="not the network this config trains"):
        Trainer(tiny(data, name="bad", model=other, init=first["checkpoint"]), tmp_path)


def test_loss_none_is_the_gain_terms_alone(data: Path) -> None:
    with pytest.raises(ValueError, match='loss "none" needs'):
        tiny(data, loss="none")
    cfg = tiny(data, loss="none", gain_loss_weight=1.0, gain_loss_centered=True)
    trainer = Trainer(cfg, data / "runs")
    assert trainer.loss_fn is None
    song = trainer.train_songs[0]
    assert song.ideal_db is not None
    seq = Sequence([song], [2], [trainer.geometry.default_phase(song.n_channels)], 20, 20)
    trainer.model.eval()
    with torch.no_grad():
        loss, _, _ = trainer._chunk_loss(trainer.model, seq, 0, 20, False, None, None)
        from models.alm.output import output_db
        from models.train.batches import chunk_inputs

        emb, rms, mask, _, _ = chunk_inputs(seq, 0, 20, trainer.geometry)
        z, _ = trainer.model(emb, rms, mask, None)
        g_db = output_db(trainer.model.gain, z, None, None)
        rng = trainer.model.gain
        alone = gain_loss(g_db, song.ideal_db[None, :, 3:23], rng.min_db, rng.max_db, True)
    assert float(loss) == pytest.approx(float(alone), rel=1e-5)
    assert float(loss) > 0.0


def test_frozen_embeddings_are_kept_between_runs_and_renewed_when_a_song_changes(
    data: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "songs"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("runs*"))
    logs: list[str] = []
    first = Trainer(tiny(copy), tmp_path / "runs", log=logs.append)
    assert any("(0 from" in line for line in logs if line.startswith("train:"))
    logs.clear()
    again = Trainer(tiny(copy), tmp_path / "runs", log=logs.append)
    n = len(again.train_songs)
    assert any(f"({n} from" in line for line in logs if line.startswith("train:"))
    for a, b in zip(first.train_songs, again.train_songs, strict=True):
        assert torch.equal(a.emb_end, b.emb_end)
    # A rewritten song is embedded again; another embedding gets its own entries.
    song_json = next((copy / "train").glob("*/song.json"))
    song_json.write_text(song_json.read_text() + " ")
    logs.clear()
    Trainer(tiny(copy), tmp_path / "runs", log=logs.append)
    assert any(f"({n - 1} from" in line for line in logs if line.startswith("train:"))
    channel = next(song_json.parent.glob("channels/*"))  # the audio itself, in a subfolder
    channel.write_bytes(channel.read_bytes())
    os.utime(channel, ns=(channel.stat().st_atime_ns, channel.stat().st_mtime_ns + 10**9))
    logs.clear()
    Trainer(tiny(copy), tmp_path / "runs", log=logs.append)
    assert any(f"({n - 1} from" in line for line in logs if line.startswith("train:"))
    logs.clear()
    Trainer(tiny(copy, seed=5), tmp_path / "runs", log=logs.append)
    assert any("(0 from" in line for line in logs if line.startswith("train:"))
    assert len(list((tmp_path / "runs" / "embedding-cache").iterdir())) == 2
    logs.clear()
    Trainer(tiny(copy, embedding_cache=False), tmp_path / "runs", log=logs.append)
    assert not any("from" in line for line in logs if line.startswith("train:"))


def test_two_runs_writing_one_embedding_cache_entry_do_not_collide(
    data: Path, tmp_path: Path
) -> None:
    trainer = Trainer(tiny(data), tmp_path / "runs")
    cache = EmbeddingCache(tmp_path / "cache", trainer._embedding(), trainer.geometry, True)
    folder = next((data / "train").iterdir())
    cache.dir.mkdir(parents=True)
    # Another run is writing the same entry right now (its temporary file is there).
    theirs = cache.dir / f"{folder.name}.pt.tmp"
    theirs.write_bytes(b"half of another run's entry")
    emb = torch.randn(3, 4, 8)
    cache.put(folder, emb)
    assert theirs.read_bytes() == b"half of another run's entry"  # left to its writer
    got = cache.get(folder)
    assert got is not None and torch.equal(got, emb)
    assert sorted(p.name for p in cache.dir.iterdir()) == sorted([theirs.name, f"{folder.name}.pt"])


def test_embedding_dropout_acts_in_training_only(data: Path) -> None:
    plain = Trainer(tiny(data), data / "runs")
    dropped = Trainer(tiny(data, embedding_dropout=0.5), data / "runs")
    dropped.model.load_state_dict(plain.model.state_dict())
    song = plain.train_songs[0]
    seq = Sequence([song], [2], [plain.geometry.default_phase(song.n_channels)], 20, 20)

    def loss(t: Trainer) -> float:
        with torch.no_grad():
            return float(t._chunk_loss(t.model, seq, 0, 20, False, None, None)[0])

    plain.model.eval()
    dropped.model.eval()
    assert loss(dropped) == pytest.approx(loss(plain), rel=1e-6)
    plain.model.train()
    dropped.model.train()  # the tiny network has no other dropout: only the embeddings differ
    torch.manual_seed(0)
    assert loss(dropped) != pytest.approx(loss(plain), rel=1e-4)


def test_a_run_from_a_checkpoint_can_take_a_newly_distilled_student(
    data: Path, tmp_path: Path
) -> None:
    from models.train.config import DistillConfig

    first = Trainer(tiny(data), tmp_path).run()
    student = tmp_path / "student.pt"
    cfg = tiny(data, name="redistilled", init=first["checkpoint"],
               distill=DistillConfig(out=str(student), epochs=1, max_windows=20))  # fmt: skip
    again = Trainer(cfg, tmp_path)
    assert student.is_file()
    source = load_model(Path(first["checkpoint"]))
    emb = {k: v for k, v in again.model.state_dict().items() if k.startswith("embedding.")}
    distilled = torch.load(student, weights_only=True)
    assert all(torch.equal(emb[f"embedding.{k}"], v) for k, v in distilled.items())
    head = {k: v for k, v in source.state_dict().items() if not k.startswith("embedding.")}
    mine = again.model.state_dict()
    assert all(torch.equal(mine[k], v) for k, v in head.items())
    stats = again.embedding_stats
    assert stats["initialised_from"] == "tiny.pt" and stats["distilled_on"] == str(data)
    assert stats["windows"] == 20


def test_extra_datasets_add_their_training_songs_under_names_of_their_own(
    data: Path, tmp_path: Path
) -> None:
    # A second dataset whose song folders have the same names as the first's (as two seeds'
    # datasets do): its songs join the training songs, named by their dataset, and each keeps
    # its own embedding-cache entry; validation stays the first dataset's.
    more = tmp_path / "more"
    shutil.copytree(data, more, ignore=shutil.ignore_patterns("runs*"))
    (more / "validation").rename(more / "unused")
    first = Trainer(tiny(data), tmp_path / "runs")
    both = Trainer(tiny(data, extra_data=(str(more),)), tmp_path / "runs")
    names = [s.name for s in first.train_songs]
    assert [s.name for s in both.train_songs] == names + [f"more-{n}" for n in names]
    assert [s.name for s in both.val_songs] == [s.name for s in first.val_songs]
    cached = {p.name for p in (tmp_path / "runs" / "embedding-cache").glob("*/*.pt")}
    assert {f"more-{n}.pt" for n in names} <= cached and {f"{n}.pt" for n in names} <= cached
    with pytest.raises(FileNotFoundError, match="no songs in train/"):
        Trainer(tiny(data, extra_data=(str(tmp_path / "none"),)), tmp_path / "runs")
    cfg = config_from_dict({"name": "x", "data": "d", "extra_data": ["a", "b"]})
    assert cfg.extra_data == ("a", "b")


def test_distillation_keeps_the_same_windows_holding_one_song_at_a_time() -> None:
    # The kept windows are drawn over every song's windows, as when all were cut at once (the
    # shipped students were distilled that way), but only the kept ones are ever held.
    from models.embedding.frontend import CausalLogMel
    from models.embedding.student import StudentEmbedding
    from models.train.distill import _kept_windows, _windows

    rng = torch.Generator().manual_seed(1)
    songs = [torch.randn(c, n, generator=rng).numpy() * 0.1
             for c, n in ((2, 60_000), (3, 48_000 * 2), (1, 50_000), (2, 70_000))]  # fmt: skip
    fronts = (StudentEmbedding().frontend(), CausalLogMel(n_mels=128))
    cut = [_windows(torch.from_numpy(a), fronts, 7) for a in songs]
    every_s, every_t = torch.cat([s for s, _ in cut]), torch.cat([t for _, t in cut])
    for limit in (10, len(every_s), 10_000):
        torch.manual_seed(5)
        want = torch.randperm(len(every_s))[:limit] if len(every_s) > limit else None
        torch.manual_seed(5)
        s, t = _kept_windows(songs, fronts, 7, limit)
        ws = every_s if want is None else every_s[want]
        wt = every_t if want is None else every_t[want]
        assert torch.equal(s, ws) and torch.equal(t, wt)

    # With the songs' shapes given, a lazy list is read only for the songs a kept window is in.
    read: list[int] = []

    class Lazy(list[np.ndarray]):
        def __getitem__(self, k):  # type: ignore[no-untyped-def, override]
            read.append(k)
            return super().__getitem__(k)

    lazy = Lazy(songs)
    shapes = [(a.shape[0], a.shape[1]) for a in songs]
    torch.manual_seed(5)
    s, t = _kept_windows(lazy, fronts, 7, 3, shapes)
    torch.manual_seed(5)
    kept = torch.randperm(len(every_s))[:3]
    assert torch.equal(s, every_s[kept]) and torch.equal(t, every_t[kept])
    bounds = np.cumsum([len(w) for w, _ in cut])
    assert sorted(read) == sorted({int(np.searchsorted(bounds, int(k), "right")) for k in kept})
    with pytest.raises(ValueError, match="its shape said"):
        _kept_windows(songs, fronts, 7, 10_000, [(c, n + 4800) for c, n in shapes])


def test_a_run_whose_embedding_never_trains_holds_no_log_mel_and_learns_the_same(
    data: Path, tmp_path: Path
) -> None:
    # frozen_steps == steps: the embeddings are all the run reads, so the songs' log-mel (a
    # sixth of a song's memory) is dropped once they are known; both runs take the same steps.
    kept = Trainer(tiny(data, steps=3, frozen_steps=2), tmp_path / "a")
    frozen = Trainer(tiny(data, steps=3, frozen_steps=3), tmp_path / "b")
    assert all(s.mel.numel() > 0 for s in kept.train_songs + kept.val_songs)
    assert all(s.mel.numel() == 0 for s in frozen.train_songs + frozen.val_songs)
    for a, b in zip(kept.train_songs, frozen.train_songs, strict=True):
        assert torch.equal(a.emb_end, b.emb_end) and torch.equal(a.audio, b.audio)
    again = Trainer(tiny(data, steps=3, frozen_steps=3), tmp_path / "b")  # from the cache
    assert all(s.mel.numel() == 0 for s in again.train_songs)
    kept.cfg = dataclasses.replace(kept.cfg, frozen_steps=3)  # now the same run as `frozen`
    kept.run()
    frozen.run()
    assert kept.history["train"] == frozen.history["train"]
