"""The training-curve plot (PNG): training loss per step (smoothed) and validation loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_curve(
    history: dict[str, Any], path: Path, frozen_steps: int, title: str, ylabel: str = "loss"
) -> Path:
    """history: {"train": [[step, loss], ...], "validation": [[step, loss], ...]} -> PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    train = np.asarray(history.get("train") or np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    if len(train):
        ax.plot(train[:, 0], train[:, 1], color="0.75", lw=0.6, label="train (per chunk)")
        k = max(1, len(train) // 50)
        smooth = np.convolve(train[:, 1], np.ones(k) / k, mode="valid")
        ax.plot(train[k - 1 :, 0], smooth, color="C0", label=f"train (mean of {k})")
    val = np.asarray(history.get("validation") or np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    if len(val):
        ax.plot(val[:, 0], val[:, 1], "o-", color="C3", label="validation")
    if frozen_steps > 0:
        ax.axvline(frozen_steps, color="0.4", ls="--", lw=0.8, label="embedding unfrozen")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
