"""Result tables (markdown + JSON) and gain-trajectory plots of an evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mrstft", "MR-STFT", "{:.3f}"),
    ("gap_closed", "gap closed", "{:.0%}"),
    ("mrstft_floor", "MR-STFT -60", "{:.3f}"),
    ("gap_closed_floor", "gap closed -60", "{:.0%}"),
    ("balance_median_db", "balance med dB", "{:.2f}"),
    ("balance_mean_db", "balance mean dB", "{:.2f}"),
    ("gain_error_db", "gain err dB", "{:.2f}"),
    ("change_db_per_s", "dB/s", "{:.2f}"),
    ("largest_step_db", "max step dB", "{:.2f}"),
    ("clipping", "clipping", "{:.2e}"),
)
"""(summary key, column title, format)."""


def summarise(rows: list[dict[str, Any]], systems: list[str]) -> dict[str, dict[str, Any]]:
    """Per-song rows -> per-system means (balance: median and mean of |error| over every
    source of every song); `gap_closed`: share of RAW's MR-STFT excess over ORACLE removed."""
    out: dict[str, dict[str, Any]] = {}
    for name in systems:
        mine = [r for r in rows if r["system"] == name]
        if not mine:
            continue
        s: dict[str, Any] = {"songs": len(mine)}
        for key in (
            "mrstft",
            "mrstft_floor",
            "gain_error_db",
            "change_db_per_s",
            "largest_step_db",
            "clipping",
        ):
            vals = [r[key] for r in mine if r.get(key) is not None]
            s[key] = float(np.mean(vals)) if vals else None
        s["largest_step_max_db"] = max(r["largest_step_db"] for r in mine)
        errs = np.abs(
            np.concatenate([r["balance_db"] for r in mine if r.get("balance_db")] or [[]])
        )
        s["balance_median_db"] = float(np.median(errs)) if errs.size else None
        s["balance_mean_db"] = float(np.mean(errs)) if errs.size else None
        out[name] = s
    for key, gap_key in (("mrstft", "gap_closed"), ("mrstft_floor", "gap_closed_floor")):
        raw, oracle = out.get("raw", {}).get(key), out.get("oracle", {}).get(key)
        for s in out.values():
            value = s[key]
            if raw is None or oracle is None or raw == oracle or value is None:
                s[gap_key] = None
            else:
                s[gap_key] = (raw - value) / (raw - oracle)
    return out


def markdown_table(summary: dict[str, dict[str, Any]]) -> str:
    head = "| system | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [head, rule]
    for name, s in summary.items():
        cells = [fmt.format(s[key]) if s.get(key) is not None else "-" for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_gains(
    song: str, names: list[str], gains: dict[str, np.ndarray], hop_s: float, path: Path
) -> Path:
    """One panel per system, one line per channel: the gain in force on each frame (dB)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(gains)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.7 * n + 0.6), sharex=True, squeeze=False)
    for ax, (system, g) in zip(axes[:, 0], gains.items(), strict=True):
        t = np.arange(len(g)) * hop_s
        for c in range(g.shape[1]):
            ax.plot(t, np.clip(g[:, c], -40, 24), lw=0.8, label=names[c])
        ax.set_ylabel("dB")
        ax.set_title(system, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=6, ncol=min(len(names), 5), loc="upper right")
    axes[-1, 0].set_xlabel(f"time (s): {song}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
