"""Checkpoints: a `state_dict` (NAME.pt) plus a sidecar JSON (NAME.json) of constructor
arguments, training description, metrics and licence notes; one `load_model(path)` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from models.alm.config import ALMConfig, DMCConfig
from models.alm.network import ALMNet
from models.dmc import DMCNet
from models.embedding import build_embedding

FORMAT = "ailive-model/1"
_KINDS = ("alm", "dmc")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and what is wrong."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _paths(path: Path) -> tuple[Path, Path]:
    path = Path(path)
    return path.with_suffix(".pt"), path.with_suffix(".json")


def licence_notes(embedding_spec: dict[str, Any]) -> list[str]:
    """The notices a checkpoint must carry for its embedding's origin."""
    from models.embedding.mn04 import MN04_LICENCE_NOTE

    origin = (embedding_spec.get("kind"), embedding_spec.get("distilled_from"))
    return [MN04_LICENCE_NOTE] if "mn04" in origin else []


def save_model(
    model: ALMNet | DMCNet,
    path: Path,
    *,
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Writes NAME.pt and NAME.json for an ALMNet or DMCNet; returns the .pt path."""
    if not isinstance(model, ALMNet | DMCNet):
        raise TypeError(f"can only save ALM or DMC networks, got {type(model).__name__}")
    kind = model.kind
    weights, sidecar = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    spec = dict(model.embedding.spec)
    meta = {
        "format": FORMAT,
        "kind": kind,
        "config": model.config.to_json(),
        "embedding": spec,
        "weights": weights.name,
        "sha256": _sha256(weights),
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": training or {},
        "metrics": metrics or {},
        "licence": licence_notes(spec) + list(notes or []),
    }
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    return weights


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar JSON of a checkpoint (path to either file), validated."""
    sidecar = _paths(path)[1]
    if not sidecar.is_file():
        raise CheckpointError(
            f"{sidecar}: sidecar JSON not found (a checkpoint is NAME.pt + NAME.json)"
        )
    try:
        meta = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{sidecar}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar}: not an {FORMAT} sidecar")
    if meta.get("kind") not in _KINDS:
        raise CheckpointError(f"{sidecar}: kind must be one of {_KINDS}, got {meta.get('kind')!r}")
    return meta


def build_model(meta: dict[str, Any], pretrained: bool = False) -> ALMNet | DMCNet:
    """An untrained network from sidecar metadata (kind, config, embedding).

    pretrained: start an mn04 embedding from the EfficientAT weights in ../shared.
    """
    embedding = build_embedding(meta["embedding"], pretrained=pretrained)
    if meta["kind"] == "alm":
        return ALMNet(embedding, ALMConfig.from_json(meta["config"]))
    return DMCNet(embedding, DMCConfig.from_json(meta["config"]))


def load_model(path: Path) -> ALMNet | DMCNet:
    """Rebuilds the network from NAME.json, loads NAME.pt (weights_only, strict); eval mode."""
    weights, sidecar = _paths(path)
    meta = read_sidecar(path)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: weights file not found")
    if meta.get("sha256") and _sha256(weights) != meta["sha256"]:
        raise CheckpointError(
            f"{weights}: corrupt or modified (sha256 differs from {sidecar.name})"
        )
    try:
        model = build_model(meta)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{sidecar}: cannot build the network ({exc})") from None
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"{weights}: cannot read the weights ({type(exc).__name__})"
        ) from None
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{weights}: weights do not fit the network ({exc})") from None
    return model.eval()
