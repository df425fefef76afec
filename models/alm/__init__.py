"""The AiLive Mixer network (ALM-MR, ALM-SR), its features, zero-latency mixing and offline pass."""

from __future__ import annotations

from typing import Protocol

import torch

from models.alm.config import ALMConfig, DMCConfig, GainRange, Geometry, geometry_for
from models.alm.features import check_audio, frame_embeddings, frame_rms_db
from models.alm.mixing import apply_gains_zero_latency, zero_latency_gains
from models.alm.output import autofader_levels, frame_base_db, output_db
from models.embedding import EmbeddingModule
from models.embedding.frontend import CausalLogMel

__all__ = [
    "ALMConfig",
    "DMCConfig",
    "GainRange",
    "Geometry",
    "MixerNet",
    "apply_gains_zero_latency",
    "geometry_for",
    "offline_forward",
    "offline_gains_db",
    "zero_latency_gains",
]


class MixerNet(Protocol):
    """What the streaming runner, training and evaluation need from ALM and DMC networks."""

    kind: str
    embedding: EmbeddingModule
    frontend: CausalLogMel

    @property
    def geometry(self) -> Geometry: ...

    @property
    def gain(self) -> GainRange: ...

    def __call__(
        self,
        emb: torch.Tensor,
        rms_db: torch.Tensor,
        mask: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def offline_forward(
    model: MixerNet,
    audio: torch.Tensor,
    mask: torch.Tensor | None = None,
    phase: torch.Tensor | None = None,
    state: torch.Tensor | None = None,
    roles: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """audio: (batch, channels, samples) at 48 kHz -> (z (batch, channels, F), state).

    F = samples // model.geometry.frame; `model.gain.to_db(z)[..., t]` is the gain for frame t+1.
    phase: (channels,) embedding refresh phases (default: the geometry's); roles: (batch,
    channels) indices into ROLES for a network trained with roles (models.alm.roles).
    """
    from models.alm.network import ALMNet

    check_audio(audio)
    geometry = model.geometry
    emb = frame_embeddings(model.embedding, model.frontend, audio, geometry, phase)
    rms = frame_rms_db(audio, geometry.frame)
    if isinstance(model, ALMNet):
        return model(emb, rms, mask, state, roles)
    return model(emb, rms, mask, state)


def offline_gains_db(
    model: MixerNet, audio: torch.Tensor, roles: torch.Tensor | None = None
) -> torch.Tensor:
    """audio: (1, channels, samples) -> the gains in dB (channels, F) the network outputs, with
    its base level and slew limit (models.alm.output): row t is heard on frame t+1. Float64, as
    the streaming runner computes them. roles: (1, channels), as `offline_forward`."""
    z, _ = offline_forward(model, audio, roles=roles)
    base = None
    if model.gain.has_base:
        levels = autofader_levels(audio[0].numpy())
        base = frame_base_db(levels, model.geometry, z.shape[-1]).double()
    return output_db(model.gain, z[0].double(), base)
