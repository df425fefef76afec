"""Distil the student embedding from mn04 on the training channels (once; the result is cached).

975 ms windows every `window_stride_s` from every training channel; mn04's embeddings of them
are computed once (the teacher is frozen), then the student and a linear head are trained on
them with `models.embedding.distill.distillation_loss`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.alm.config import WINDOW_FRAMES
from models.embedding.distill import distillation_loss
from models.embedding.frontend import CausalLogMel
from models.embedding.student import StudentEmbedding
from models.train.config import DistillConfig

TEACHER_BATCH = 64


def _windows(
    audio: torch.Tensor, frontends: tuple[CausalLogMel, CausalLogMel], stride: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """audio (C, n) -> (student windows, teacher windows), each (K, n_mels, WINDOW_FRAMES)."""
    out = []
    for fe in frontends:
        mel = fe(audio)  # (C, n_mels, M)
        starts = torch.arange(0, mel.shape[-1] - WINDOW_FRAMES + 1, stride)
        win = mel.unfold(-1, WINDOW_FRAMES, 1)[:, :, starts]  # (C, n_mels, K, W)
        out.append(win.permute(0, 2, 1, 3).reshape(-1, mel.shape[1], WINDOW_FRAMES))
    return out[0], out[1]


def _window_count(shape: tuple[int, ...], hop: int, stride: int) -> int:
    """The windows `_windows` cuts from one song's channels of shape (C, n)."""
    frames = shape[-1] // hop
    return shape[0] * max(0, (frames - WINDOW_FRAMES) // stride + 1)


def _kept_windows(
    channels: Sequence[np.ndarray],
    fronts: tuple[CausalLogMel, CausalLogMel],
    stride: int,
    max_windows: int,
    shapes: Sequence[tuple[int, int]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of every song, or `max_windows` of them drawn at random (torch's generator),
    as (student, teacher) windows. Only the kept windows are held: one song's windows at a time
    are cut, so the memory is the kept windows' and one song's, not every song's. A song may be
    a lazy loader's item: it is read only if a window of it is kept, and with `shapes` (each
    song's (C, n)) not at all for the count."""
    sizes = shapes if shapes is not None else [audio.shape for audio in channels]
    counts = [_window_count(shape, fronts[0].hop, stride) for shape in sizes]
    total = sum(counts)
    keep = torch.randperm(total)[:max_windows] if total > max_windows else torch.arange(total)
    slot = torch.full((total,), -1, dtype=torch.long)
    slot[keep] = torch.arange(len(keep))  # where each kept window goes, in the order drawn
    s_out = t_out = None
    at = 0
    for k, n in enumerate(counts):
        where = slot[at : at + n]
        at += n
        mine = torch.nonzero(where >= 0).flatten()
        if not len(mine):
            continue
        audio = channels[k]
        if audio.shape != tuple(sizes[k]):
            raise ValueError(f"song {k}: {audio.shape} samples, its shape said {sizes[k]}")
        s, t = _windows(torch.from_numpy(audio), fronts, stride)
        if s_out is None or t_out is None:
            s_out = s.new_empty((len(keep), *s.shape[1:]))
            t_out = t.new_empty((len(keep), *t.shape[1:]))
        s_out[where[mine]] = s[mine]
        t_out[where[mine]] = t[mine]
    if s_out is None or t_out is None:
        raise ValueError("no 975 ms window in the training channels")
    return s_out, t_out


def distill_student(
    channels: Sequence[np.ndarray],
    cfg: DistillConfig,
    spec: dict[str, object],
    seed: int = 0,
    log: Callable[[str], None] = print,
    shapes: Sequence[tuple[int, int]] | None = None,
) -> tuple[StudentEmbedding, dict[str, float]]:
    """Distils a student (built from `spec`) from mn04 on windows of `channels` [(C, n), ...];
    `shapes`: each song's (C, n) when known without reading it (a lazy `channels`)."""
    from models.embedding.mn04 import load_mn04

    torch.manual_seed(seed)
    args = {k: v for k, v in spec.items() if k != "kind"}
    if "widths" in args:
        args["widths"] = tuple(args["widths"])  # type: ignore[arg-type]
    student = StudentEmbedding(**args)  # type: ignore[arg-type]
    teacher = load_mn04()
    fronts = (student.frontend(), CausalLogMel(n_mels=128))
    stride = max(1, round(cfg.window_stride_s * 100))
    t0 = time.perf_counter()
    s_all, t_all = _kept_windows(channels, fronts, stride, cfg.max_windows, shapes)
    with torch.no_grad():
        targets = torch.cat(
            [teacher.embed(t_all[i : i + TEACHER_BATCH].unsqueeze(1))
             for i in range(0, len(t_all), TEACHER_BATCH)]
        )  # fmt: skip
    del t_all
    t1 = time.perf_counter()
    log(f"distill: {len(s_all)} windows, teacher embeddings in {t1 - t0:.0f} s")
    head = nn.Linear(student.out_dim, targets.shape[1])
    params = list(student.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    n_val = max(1, len(s_all) // 10)
    val_s, val_t = s_all[:n_val], targets[:n_val]
    tr_s, tr_t = s_all[n_val:], targets[n_val:]
    loss_v = float("nan")
    for epoch in range(cfg.epochs):
        student.train()
        order = torch.randperm(len(tr_s))
        total = 0.0
        for i in range(0, len(order), cfg.batch):
            idx = order[i : i + cfg.batch]
            loss = distillation_loss(head(student(tr_s[idx])), tr_t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        student.eval()
        with torch.no_grad():
            loss_v = float(distillation_loss(head(student(val_s)), val_t))
        log(f"distill epoch {epoch + 1}/{cfg.epochs}: train {total / len(tr_s):.4f} "
            f"validation {loss_v:.4f}")  # fmt: skip
    stats = {
        "windows": len(s_all),
        "epochs": cfg.epochs,
        "validation_loss": round(loss_v, 5),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return student.eval(), stats


def save_student(student: StudentEmbedding, path: Path, stats: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(student.state_dict(), path)
    meta = {"spec": student.spec, "stats": stats}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def load_student_state(student: nn.Module, path: Path) -> dict[str, float]:
    """Loads a distilled student's weights into `student` (strict); returns its stats."""
    student.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    sidecar = path.with_suffix(".json")
    return json.loads(sidecar.read_text()).get("stats", {}) if sidecar.is_file() else {}
