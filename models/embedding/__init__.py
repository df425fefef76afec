"""Per-channel audio embeddings: EfficientAT mn04 (pretrained, AudioSet) and a compact student.

Both read windows of the causal 48 kHz log-mel (`frontend()`) and are rebuilt from their `spec`.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from models.embedding.frontend import CausalLogMel

PROVENANCE_KEYS = ("distilled_from",)
"""Spec entries that describe where the weights came from, not how to build the module."""


class EmbeddingModule(Protocol):
    """What the mixer networks need from an embedding (an nn.Module)."""

    out_dim: int
    n_mels: int
    spec: dict[str, Any]

    def frontend(self) -> CausalLogMel: ...

    def __call__(self, mel: torch.Tensor) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Any: ...


def build_embedding(spec: dict[str, Any], pretrained: bool = False) -> EmbeddingModule:
    """An embedding from its spec ({"kind": "student", ...} or {"kind": "mn04"}).

    pretrained: for mn04, load the EfficientAT weights from ../shared (a checkpoint's own weights
    replace them anyway when loading one).
    """
    kind = spec.get("kind")
    args = {k: v for k, v in spec.items() if k not in ("kind", *PROVENANCE_KEYS)}
    module: EmbeddingModule
    if kind == "student":
        from models.embedding.student import StudentEmbedding

        if "widths" in args:
            args["widths"] = tuple(args["widths"])
        module = StudentEmbedding(**args)
    elif kind == "mn04":
        from models.embedding.mn04 import MN04Embedding

        module = MN04Embedding(pretrained=pretrained)
    else:
        raise ValueError(f"unknown embedding kind {kind!r}; choose 'student' or 'mn04'")
    module.spec.update({k: spec[k] for k in PROVENANCE_KEYS if k in spec})
    return module
