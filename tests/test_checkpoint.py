"""Checkpoints: state_dict + sidecar JSON round trip, one load_model, clear errors on bad files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.alm import offline_forward
from models.checkpoint import CheckpointError, load_model, read_sidecar, save_model
from models.embedding.mn04 import MN04_LICENCE_NOTE
from models.inference import StreamingMixer, untrained_model


def audio() -> torch.Tensor:
    rng = np.random.default_rng(0)
    return torch.from_numpy((0.1 * rng.standard_normal((1, 3, 48_000 * 2))).astype(np.float32))


@pytest.mark.parametrize(("kind", "mode"), [("alm", "mr"), ("alm", "sr"), ("dmc", "sr")])
def test_round_trip_rebuilds_the_same_network(tmp_path: Path, kind: str, mode: str) -> None:
    model = untrained_model(kind, mode, seed=7)
    path = save_model(model, tmp_path / f"{kind}-{mode}", training={"epochs": 0}, metrics={"x": 1})
    assert path.suffix == ".pt" and path.with_suffix(".json").is_file()
    meta = read_sidecar(path)
    assert meta["kind"] == kind and meta["config"]["mode"] == mode
    assert meta["embedding"]["kind"] == "student" and meta["licence"] == []
    assert meta["training"] == {"epochs": 0} and meta["metrics"] == {"x": 1}
    loaded = load_model(path.with_suffix(".json"))  # either file names the checkpoint
    assert type(loaded) is type(model) and not loaded.training
    with torch.no_grad():
        a, _ = offline_forward(model, audio())
        b, _ = offline_forward(loaded, audio())
    assert torch.equal(a, b)
    assert path.stat().st_size < 10 * 2**20  # shipped checkpoints stay under ~10 MB


def test_mn04_derived_checkpoints_carry_the_mit_notice(tmp_path: Path) -> None:
    model = untrained_model("alm", "mr")
    model.embedding.spec["distilled_from"] = "mn04"
    path = save_model(model, tmp_path / "distilled", notes=["trained on synth"])
    assert read_sidecar(path)["licence"] == [MN04_LICENCE_NOTE, "trained on synth"]
    # The provenance survives a load and a re-save.
    again = read_sidecar(save_model(load_model(path), tmp_path / "again"))
    assert again["embedding"]["distilled_from"] == "mn04"
    assert again["licence"] == [MN04_LICENCE_NOTE]


def test_streaming_mixer_loads_a_checkpoint(tmp_path: Path) -> None:
    path = save_model(untrained_model("alm", "mr"), tmp_path / "alm-mr")
    mixer = StreamingMixer.from_checkpoint(path)
    assert mixer.name == "alm-mr"
    mixer.reset(2, 48_000)
    assert np.isfinite(mixer.step(np.zeros((2, 2400), np.float32))).all()


def test_corrupt_weights_give_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = save_model(untrained_model("dmc", "sr"), tmp_path / "dmc")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.raises(CheckpointError, match=r"dmc\.pt.*corrupt"):
        load_model(path)
    # The checksum is required: deleting it from the sidecar does not skip the check.
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    del meta["sha256"]
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"dmc\.json: sha256 .* missing .*required"):
        load_model(path)
    # A sidecar re-signed for the damaged file: the damage is found by the loader itself.
    _resign(path)
    with pytest.raises(CheckpointError, match=r"dmc\.pt: cannot read the weights"):
        load_model(path)


def _resign(weights: Path) -> None:
    """Record the weights' current sha256 in the sidecar (as if someone had edited both)."""
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(meta))


def test_weights_only_refuses_pickled_objects(tmp_path: Path) -> None:
    path = save_model(untrained_model("dmc", "sr"), tmp_path / "dmc")
    torch.save({"payload": Path("/")}, path)  # not tensors: weights_only must refuse it
    _resign(path)
    with pytest.raises(CheckpointError, match="cannot read the weights"):
        load_model(path)


def test_mismatched_weights_missing_or_bad_sidecar(tmp_path: Path) -> None:
    alm = save_model(untrained_model("alm", "mr"), tmp_path / "alm")
    dmc = save_model(untrained_model("dmc", "sr"), tmp_path / "dmc")
    alm.write_bytes(dmc.read_bytes())
    _resign(alm)
    with pytest.raises(CheckpointError, match=r"alm\.pt: weights do not fit the network"):
        load_model(alm)
    with pytest.raises(CheckpointError, match=r"nothing\.json: sidecar JSON not found"):
        load_model(tmp_path / "nothing.pt")
    dmc.with_suffix(".json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"dmc\.json: not valid JSON"):
        load_model(dmc)
    dmc.with_suffix(".json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match=r"dmc\.json: not an ailive-model/1 sidecar"):
        load_model(dmc)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"heads": 3}, r"config\.d_model \(128\) must be a multiple of config\.heads \(3\)"),
        ({"d_model": -5}, r"config\.d_model must be a whole number 1\.\.1024, got -5"),
        ({"d_model": 200000}, r"config\.d_model must be a whole number 1\.\.1024, got 200000"),
        ({"gru_hidden": 1.5}, r"config\.gru_hidden must be a whole number"),
        ({"dropout": 7}, r"config\.dropout must be a number in \[0, 1\)"),
    ],
)
def test_a_sidecar_is_validated_before_the_network_is_built(
    tmp_path: Path, edit: dict[str, object], needle: str
) -> None:
    path = save_model(untrained_model("alm", "mr"), tmp_path / "alm")
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["config"].update(edit)
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"alm\.json: " + needle):
        load_model(path)


def test_embedding_sizes_are_bounded_too(tmp_path: Path) -> None:
    path = save_model(untrained_model("dmc", "sr"), tmp_path / "dmc")
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["embedding"]["widths"] = [48, 64, 96, 10**9]
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"embedding\.widths\[3\] must be a whole number"):
        load_model(path)


def test_a_checkpoint_path_is_a_gain_source(tmp_path: Path) -> None:
    from models.alm.config import ALMConfig, GainRange
    from models.alm.network import ALMNet
    from models.embedding.student import StudentEmbedding
    from models.gainsource import is_gain_source, make_gain_source

    gain = GainRange(min_db=-40.0, max_db=24.0, base="autofader", max_step_db=1.2)
    model = ALMNet(StudentEmbedding(), ALMConfig(gain=gain))
    path = save_model(model, tmp_path / "corrector")
    assert is_gain_source(str(path)) and is_gain_source("autofader")
    assert not is_gain_source(str(tmp_path / "missing.pt"))
    source = make_gain_source(str(path))
    assert isinstance(source, StreamingMixer) and source.model.gain == gain
    source.reset(2, 48_000)
    assert np.isfinite(source.step(np.zeros((2, 2400), np.float32))).all()
    with pytest.raises(ValueError, match="unknown gain source"):
        make_gain_source(str(tmp_path / "missing.pt"))
