"""The AiLive Mixer network (pure modules): embedding -> TE1 -> RMS conditioning -> TE2 -> GRU ->
TE3 -> MLP -> one gain per channel, all weights shared across channels.

The network reads per-F2-frame embeddings that `models.alm.features` (offline) or
`models.inference` (streaming) cut from the audio; it never touches audio files or devices.
"""

from __future__ import annotations

import torch
from torch import nn

from models.alm.config import RMS_FLOOR_DB, ROLES, ALMConfig, GainRange, Geometry
from models.embedding import EmbeddingModule


def channel_encoder(cfg: ALMConfig) -> nn.TransformerEncoderLayer:
    """One Transformer-encoder layer whose sequence axis is the channels."""
    return nn.TransformerEncoderLayer(
        cfg.d_model, cfg.heads, cfg.ff_dim, cfg.dropout, batch_first=True, norm_first=True
    )


def gain_mlp(width: int, gain: GainRange) -> nn.Sequential:
    """width -> 64 -> 32 -> 1 with PReLU; the last bias starts the output at 0 dB. With a base
    level the last weights start at zero too: an untrained network outputs the base exactly."""
    mlp = nn.Sequential(
        nn.Linear(width, 64), nn.PReLU(), nn.Linear(64, 32), nn.PReLU(), nn.Linear(32, 1)
    )
    last = mlp[-1]
    assert isinstance(last, nn.Linear)
    nn.init.constant_(last.bias, gain.initial_bias())
    if gain.has_base:
        nn.init.zeros_(last.weight)
    return mlp


def rms_feature(rms_db: torch.Tensor) -> torch.Tensor:
    """Per-frame RMS in dBFS -> a unit-scale feature (-100 dBFS -> -2, 0 dBFS -> +2)."""
    return (rms_db.clamp(min=RMS_FLOOR_DB) + 50.0) / 25.0


def _across_channels(layer: nn.Module, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
    """x: (batch, channels, frames, d) -> the layer over channels for every frame, same shape."""
    b, c, f, d = x.shape
    seq = x.transpose(1, 2).reshape(b * f, c, d)  # (batch * frames, channels, d)
    key_pad = None if pad is None else pad.repeat_interleave(f, dim=0)  # (batch * frames, ch)
    out = layer(seq, src_key_padding_mask=key_pad)
    return out.reshape(b, f, c, d).transpose(1, 2)  # (batch, channels, frames, d)


class ALMNet(nn.Module):
    """AiLive Mixer. forward: per-frame embeddings + RMS -> gain logits, GRU state.

    Args:
        embedding: the per-channel embedding module (student or mn04), trained with the mixer.
        config: sizes, rates and output range (saved in checkpoints).
    """

    kind = "alm"

    def __init__(self, embedding: EmbeddingModule, config: ALMConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ALMConfig()
        self.embedding = embedding
        self.frontend = embedding.frontend()  # fixed (no parameters): the embedding's log-mel
        self.project = nn.Linear(embedding.out_dim, cfg.d_model)
        self.te1 = channel_encoder(cfg)
        self.rms = nn.Sequential(nn.Linear(1, cfg.d_model), nn.PReLU())
        self.te2 = channel_encoder(cfg)
        self.gru = nn.GRU(cfg.d_model, cfg.gru_hidden, num_layers=1, batch_first=True)
        self.te3 = nn.TransformerEncoderLayer(
            cfg.gru_hidden, cfg.heads, cfg.ff_dim, cfg.dropout, batch_first=True, norm_first=True
        )
        self.mlp = gain_mlp(cfg.gru_hidden, cfg.gain)
        self.role_table: nn.Embedding | None = None
        if cfg.roles:  # zero at the start: a network initialised from one without roles
            self.role_table = nn.Embedding(len(ROLES), embedding.out_dim)  # mixes as it did
            nn.init.zeros_(self.role_table.weight)

    @property
    def geometry(self) -> Geometry:
        return self.config.geometry

    @property
    def gain(self) -> GainRange:
        return self.config.gain

    def forward(
        self,
        emb: torch.Tensor,
        rms_db: torch.Tensor,
        mask: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
        roles: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """emb: (batch, channels, frames, emb_dim), each frame's current F1 embedding;
        rms_db: (batch, channels, frames); mask: (batch, channels) bool, True = real channel;
        state: (1, batch * channels, gru_hidden) or None; roles: (batch, channels) long indices
        into ROLES (None: every channel "unknown").
        -> (z (batch, channels, frames), state): z, the output logit, through
        `config.gain.to_db` is the gain for the NEXT frame. Padded channels get z = 0 and do not
        affect real ones.
        """
        if self.role_table is not None:
            if roles is None:
                roles = torch.zeros(emb.shape[:2], dtype=torch.long, device=emb.device)
            emb = emb + self.role_table(roles).unsqueeze(2)
        return self.core(emb, rms_db, mask, state)

    def core(
        self,
        emb: torch.Tensor,
        rms_db: torch.Tensor,
        mask: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` with the role vectors already in `emb` (the streaming runner adds them to
        each channel's embedding once, when it is computed)."""
        b, c, f, _ = emb.shape
        pad = None if mask is None else ~mask
        x = _across_channels(self.te1, self.project(emb), pad)  # (b, c, f, d)
        x = x + self.rms(rms_feature(rms_db).unsqueeze(-1))  # (b, c, f, d)
        x = _across_channels(self.te2, x, pad)
        h, state = self.gru(x.reshape(b * c, f, -1), state)  # (b * c, f, hidden)
        h = _across_channels(self.te3, h.reshape(b, c, f, -1), pad)  # (b, c, f, hidden)
        z = self.mlp(h).squeeze(-1)  # (b, c, f)
        if mask is not None:
            z = z.masked_fill(~mask.unsqueeze(-1), 0.0)
        return z, state
