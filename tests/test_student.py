"""The compact student embedding and its distillation from mn04."""

from __future__ import annotations

import torch

from models.embedding import build_embedding
from models.embedding.distill import Distiller, distill_step, distillation_loss
from models.embedding.mn04 import MN04
from models.embedding.student import StudentEmbedding


def test_student_embeds_975_ms_windows() -> None:
    student = StudentEmbedding(out_dim=96).eval()
    fe = student.frontend()
    mel = fe.frames_from(torch.randn(3, 46_800) * 0.1)
    assert mel.shape == (3, 64, 96)
    with torch.no_grad():
        out = student(mel)
    assert out.shape == (3, 96) and bool(torch.isfinite(out).all())
    rebuilt = build_embedding(student.spec)
    assert isinstance(rebuilt, StudentEmbedding) and rebuilt.spec == student.spec
    # Far smaller than its teacher.
    assert sum(p.numel() for p in student.parameters()) < 0.2 * sum(
        p.numel() for p in MN04().parameters()
    )


def test_distillation_loss_is_zero_only_on_the_target() -> None:
    target = torch.randn(4, 384)
    assert float(distillation_loss(target, target)) < 1e-6
    assert float(distillation_loss(-target, target)) > 1.9


def test_distillation_reduces_the_loss() -> None:
    torch.manual_seed(0)
    teacher = MN04()  # random weights are enough to check that the student learns to follow
    distiller = Distiller(StudentEmbedding(), teacher)
    windows = torch.randn(8, 46_800) * torch.logspace(-2, 0, 8)[:, None]
    params = [p for p in distiller.parameters() if p.requires_grad]
    assert not any(p.requires_grad for p in distiller.teacher.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    before = [p.clone() for p in distiller.teacher.parameters()]
    targets = distiller.targets(windows)
    assert targets.shape == (8, 384)
    losses = [distill_step(distiller, windows, opt, targets) for _ in range(12)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(
        torch.equal(a, b) for a, b in zip(before, distiller.teacher.parameters(), strict=True)
    )
