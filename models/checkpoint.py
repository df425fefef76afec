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
MAX_SIDECAR_BYTES = 1 << 20
_BOUNDS: dict[str, dict[str, tuple[int, int]]] = {
    "alm": {"d_model": (1, 1024), "heads": (1, 64), "ff_dim": (1, 8192), "gru_hidden": (1, 1024)},
    "dmc": {"hidden": (1, 8192)},
    "student": {"n_mels": (8, 256), "n_fft": (64, 8192), "out_dim": (1, 1024)},
}
"""Sizes a sidecar may ask for, checked before anything is built (the largest shipped model uses
a tenth of each): a damaged or hostile sidecar must not allocate gigabytes or trip an assert."""
_MAX_WIDTH = 1024


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
    if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
        raise CheckpointError(f"{sidecar}: larger than {MAX_SIDECAR_BYTES // 1024} KiB")
    try:
        meta = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{sidecar}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar}: not an {FORMAT} sidecar")
    if meta.get("kind") not in _KINDS:
        raise CheckpointError(f"{sidecar}: kind must be one of {_KINDS}, got {meta.get('kind')!r}")
    _check_sizes(meta, sidecar)
    return meta


def _whole(sidecar: Path, where: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CheckpointError(
            f"{sidecar}: {where} must be a whole number {lo}..{hi}, got {value!r}"
        )
    return value


def _check_sizes(meta: dict[str, Any], sidecar: Path) -> None:
    """Bounds on every size the network is built from, and the weights' sha256 (required)."""
    sha = meta.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise CheckpointError(f"{sidecar}: sha256 of the weights missing or malformed (required)")
    config, spec = meta.get("config"), meta.get("embedding")
    if not isinstance(config, dict) or not isinstance(spec, dict):
        raise CheckpointError(f"{sidecar}: config and embedding must be JSON objects")
    for key, (lo, hi) in _BOUNDS[meta["kind"]].items():
        if key in config:
            _whole(sidecar, f"config.{key}", config[key], lo, hi)
    if meta["kind"] == "alm" and config.get("d_model", 128) % config.get("heads", 2):
        raise CheckpointError(
            f"{sidecar}: config.d_model ({config.get('d_model', 128)}) must be a multiple of "
            f"config.heads ({config.get('heads', 2)})"
        )
    dropout = config.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise CheckpointError(f"{sidecar}: config.dropout must be a number in [0, 1)")
    if spec.get("kind") == "student":
        for key, (lo, hi) in _BOUNDS["student"].items():
            if key in spec:
                _whole(sidecar, f"embedding.{key}", spec[key], lo, hi)
        widths = spec.get("widths", [48, 64, 96, 128])
        if not isinstance(widths, list) or len(widths) != 4:
            raise CheckpointError(f"{sidecar}: embedding.widths must be a list of 4 numbers")
        for i, w in enumerate(widths):
            _whole(sidecar, f"embedding.widths[{i}]", w, 1, _MAX_WIDTH)


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
    if _sha256(weights) != meta["sha256"]:
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
