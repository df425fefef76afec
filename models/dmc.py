"""DMC baseline network (Steinmetz et al. 2021, "differentiable mixing console"), gain only.

Per track: an embedding of the current 975 ms window; context: the mean embedding over the real
tracks; a post-processor MLP on [track, context] -> one gain. No temporal state and no RMS input:
each frame is judged on its own (which is why the AiLive paper hears it jump). DMC-OG and
DMC-B-0L are this network trained without / with bleed and the zero-latency shift.
"""

from __future__ import annotations

import torch
from torch import nn

from models.alm.config import DMCConfig, GainRange, Geometry
from models.alm.network import gain_mlp
from models.embedding import EmbeddingModule


class DMCNet(nn.Module):
    """forward: per-frame embeddings -> gain logits (rms_db and state are accepted, unused)."""

    kind = "dmc"

    def __init__(self, embedding: EmbeddingModule, config: DMCConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or DMCConfig()
        self.embedding = embedding
        self.frontend = embedding.frontend()
        d = embedding.out_dim
        self.post = nn.Sequential(
            nn.Linear(2 * d, cfg.hidden),
            nn.PReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.PReLU(),
            nn.Dropout(cfg.dropout),
        )
        self.mlp = gain_mlp(cfg.hidden, cfg.gain)

    @property
    def geometry(self) -> Geometry:
        return self.config.geometry

    @property
    def gain(self) -> GainRange:
        return self.config.gain

    def forward(
        self,
        emb: torch.Tensor,
        rms_db: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """emb: (batch, channels, frames, emb_dim); mask: (batch, channels) bool, True = real
        -> (z (batch, channels, frames) output logits, None)."""
        if mask is None:
            context = emb.mean(dim=1, keepdim=True)  # (b, 1, f, d)
        else:
            w = mask[:, :, None, None].to(emb.dtype)  # (b, c, 1, 1)
            context = (emb * w).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True).clamp(min=1)
        x = torch.cat([emb, context.expand_as(emb)], dim=-1)  # (b, c, f, 2d)
        z = self.mlp(self.post(x)).squeeze(-1)  # (b, c, f)
        if mask is not None:
            z = z.masked_fill(~mask.unsqueeze(-1), 0.0)
        return z, None
