"""Distil mn04 into the student embedding: a linear head maps the student's embedding onto mn04's.

Both read the same 975 ms windows of 48 kHz audio through their own front-ends; the loss is the
mean squared error plus the cosine distance to mn04's 384-d embedding (the head is dropped after
distillation). The full run lives with training; this is the step it repeats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.embedding.frontend import CausalLogMel
from models.embedding.mn04 import MN04
from models.embedding.student import StudentEmbedding


def distillation_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """pred, target: (windows, dim) -> scalar: MSE + mean cosine distance."""
    cosine = F.cosine_similarity(pred, target, dim=-1)  # (windows,)
    return F.mse_loss(pred, target) + (1.0 - cosine).mean()


class Distiller(nn.Module):
    """Student + projection head against a frozen mn04 teacher, on raw 48 kHz windows."""

    def __init__(self, student: StudentEmbedding, teacher: MN04) -> None:
        super().__init__()
        self.student = student
        self.head = nn.Linear(student.out_dim, teacher.embed_dim)
        self.teacher = teacher.eval().requires_grad_(False)
        self.student_frontend: CausalLogMel = student.frontend()
        self.teacher_frontend = CausalLogMel(n_mels=128)

    @torch.no_grad()
    def targets(self, windows: torch.Tensor) -> torch.Tensor:
        """windows: (batch, window_samples) -> mn04 embeddings (batch, 384)."""
        self.teacher.eval()
        mel = self.teacher_frontend.frames_from(windows)  # (batch, 128, frames)
        return self.teacher.embed(mel.unsqueeze(1))

    def forward(self, windows: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """windows: (batch, window_samples), targets: (batch, 384) -> scalar loss."""
        mel = self.student_frontend.frames_from(windows)  # (batch, n_mels, frames)
        return distillation_loss(self.head(self.student(mel)), targets)


def distill_step(
    distiller: Distiller,
    windows: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    targets: torch.Tensor | None = None,
) -> float:
    """One optimisation step on a batch of raw windows (batch, window_samples); returns the loss.

    targets: the teacher's embeddings of these windows when cached (the teacher is frozen).
    """
    distiller.student.train()
    targets = distiller.targets(windows) if targets is None else targets
    loss = distiller(windows, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
