"""Compact student embedding: a 1-D temporal CNN over log-mel, cheap enough for 64 channels live.

Mel bands are the convolution's input channels and time is its only axis (as in TC-ResNet for
keyword spotting), which costs ~1.1 M multiply-adds per 975 ms window (mn04: ~40 M).
It is distilled from mn04 (models.embedding.distill), then trained with the mixer.
"""

from __future__ import annotations

import torch
from torch import nn

from models.embedding.frontend import CausalLogMel


class _ConvBlock(nn.Module):
    """Conv1d + BatchNorm + ReLU, with a residual path when the shape is unchanged."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.norm = nn.BatchNorm1d(cout)
        self.residual = cin == cout and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, cin, frames) -> (batch, cout, frames / stride)."""
        y = torch.relu(self.norm(self.conv(x)))
        return x + y if self.residual else y


class StudentEmbedding(nn.Module):
    """Log-mel window (windows, n_mels, frames) -> embedding (windows, out_dim).

    Args:
        n_mels: mel bands of its front-end (`frontend()`), 0-16 kHz at 48 kHz.
        n_fft: FFT size of its front-end: 1200 (no zero padding, 40 Hz bins) is half the cost of
            mn04's 1536 and the student has no pretrained filters to match.
        widths: channels of the four conv blocks (each halves the time axis: 96 -> 6 frames).
        out_dim: embedding size the mixer network reads.
    """

    def __init__(
        self,
        n_mels: int = 64,
        n_fft: int = 1200,
        widths: tuple[int, ...] = (48, 64, 96, 128),
        out_dim: int = 128,
    ) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"widths needs 4 entries, got {widths}")
        self.n_mels, self.n_fft, self.out_dim = n_mels, n_fft, out_dim
        self.spec: dict[str, object] = {
            "kind": "student",
            "n_mels": n_mels,
            "n_fft": n_fft,
            "widths": list(widths),
            "out_dim": out_dim,
        }
        self.input_norm = nn.BatchNorm1d(n_mels)
        self.blocks = nn.Sequential(
            _ConvBlock(n_mels, widths[0], 3, 2),
            _ConvBlock(widths[0], widths[1], 3, 2),
            _ConvBlock(widths[1], widths[2], 3, 2),
            _ConvBlock(widths[2], widths[3], 3, 2),
        )
        self.out = nn.Linear(2 * widths[3], out_dim)

    def frontend(self) -> CausalLogMel:
        return CausalLogMel(n_fft=self.n_fft, n_mels=self.n_mels)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (windows, n_mels, frames) -> (windows, out_dim)."""
        h = self.blocks(self.input_norm(mel))  # (windows, width, frames / 16)
        pooled = torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=-1)  # (windows, 2 * width)
        return self.out(pooled)
