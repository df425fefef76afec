"""Result tables (markdown + JSON) and gain-trajectory plots of an evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mrstft_matched", "MR-STFT (level-matched)", "{:.3f}"),
    ("gap_closed", "gap closed", "{:.0%}"),
    ("mrstft", "MR-STFT", "{:.3f}"),
    ("mrstft_floor", "MR-STFT -60", "{:.3f}"),
    ("lufs_diff", "LUFS diff", "{:+.2f}"),
    ("balance_median_db", "balance med dB", "{:.2f}"),
    ("balance_p90_db", "balance p90 dB", "{:.2f}"),
    ("gain_error_db", "gain err dB", "{:.2f}"),
    ("change_db_per_s", "dB/s", "{:.2f}"),
    ("largest_step_db", "max step dB", "{:.2f}"),
    ("clipping", "clipping", "{:.2e}"),
)
"""(summary key, column title, format)."""

MEANS = ("mrstft_matched", "mrstft", "mrstft_floor", "lufs_diff", "gain_error_db",
         "change_db_per_s", "largest_step_db", "clipping")  # fmt: skip
ROLE_ORDER = ("lead", "kick", "snare", "drums", "bass", "rhythm", "keys", "pad", "strings",
              "brass", "solo", "backing", "other")  # fmt: skip


def _balance(rows: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, list[float]]]:
    """|balance error| of every source of every row, pooled, and grouped by role."""
    pooled: list[float] = []
    roles: dict[str, list[float]] = {}
    for r in rows:
        for err, role in zip(r.get("balance_db") or [], r.get("balance_roles") or [],
                             strict=False):  # fmt: skip
            if err is None:
                continue
            pooled.append(abs(err))
            roles.setdefault(role, []).append(abs(err))
    return np.asarray(pooled), roles


def summarise(rows: list[dict[str, Any]], systems: list[str]) -> dict[str, dict[str, Any]]:
    """Per-song rows -> per-system means over the songs that are not flagged (balance: median
    and 90th percentile of |error| over every source of those songs, and the median per role);
    `gap_closed`: share of RAW's level-matched MR-STFT excess over the static oracle removed."""
    out: dict[str, dict[str, Any]] = {}
    for name in systems:
        mine = [r for r in rows if r["system"] == name]
        if not mine:
            continue
        kept = [r for r in mine if not r.get("flag")]
        s: dict[str, Any] = {"songs": len(kept), "flagged": len(mine) - len(kept)}
        for key in MEANS:
            vals = [r[key] for r in kept if r.get(key) is not None]
            s[key] = float(np.mean(vals)) if vals else None
        s["largest_step_max_db"] = max((r["largest_step_db"] for r in kept), default=None)
        errs, roles = _balance(kept)
        s["balance_median_db"] = float(np.median(errs)) if errs.size else None
        s["balance_p90_db"] = float(np.percentile(errs, 90)) if errs.size else None
        s["balance_mean_db"] = float(np.mean(errs)) if errs.size else None
        s["balance_roles_db"] = {k: float(np.median(v)) for k, v in roles.items()}
        out[name] = s
    raw, ceiling = (out.get(k, {}).get("mrstft_matched") for k in ("raw", "static-oracle"))
    for s in out.values():
        value = s["mrstft_matched"]
        if raw is None or ceiling is None or raw == ceiling or value is None:
            s["gap_closed"] = None
        else:
            s["gap_closed"] = (raw - value) / (raw - ceiling)
    return out


def markdown_table(summary: dict[str, dict[str, Any]]) -> str:
    head = "| system | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [head, rule]
    for name, s in summary.items():
        cells = [fmt.format(s[key]) if s.get(key) is not None else "-" for key, _, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def role_table(summary: dict[str, dict[str, Any]]) -> str:
    """Median |balance error| per role (dB), one row per system; empty without balance."""
    present = {role for s in summary.values() for role in s.get("balance_roles_db", {})}
    roles = [r for r in ROLE_ORDER if r in present] + sorted(present - set(ROLE_ORDER))
    if not roles:
        return ""
    lines = ["| system | " + " | ".join(roles) + " |", "|---|" + "---:|" * len(roles)]
    for name, s in summary.items():
        per = s.get("balance_roles_db", {})
        cells = [f"{per[r]:.2f}" if r in per else "-" for r in roles]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_markdown(summary: dict[str, dict[str, Any]], flags: dict[str, str]) -> str:
    """The tables and notes of results.md (without its title)."""
    parts = [markdown_table(summary)]
    roles = role_table(summary)
    if roles:
        parts.append("Balance per role: median |error| (dB) over the sources of that role.\n\n"
                     + roles)  # fmt: skip
    if flags:
        listed = "\n".join(f"- **{song}**: {why}" for song, why in sorted(flags.items()))
        parts.append(f"**FLAGGED, left out of every average ({len(flags)} song(s))**:\n{listed}")
    parts.append(NOTES)
    return "\n\n".join(parts) + "\n"


NOTES = (
    "All systems streamed hop by hop (50 ms) at zero latency; gains ramped per sample. "
    "MR-STFT (level-matched): the paper's loss after scaling the mix by the one gain that best "
    "matches the target (least squares on STFT magnitudes); MR-STFT: the mix as it is; "
    "MR-STFT -60: as it is, STFT bins floored at -60 dBFS noise. Gap closed: share of RAW's "
    "level-matched MR-STFT excess over the static oracle removed. LUFS diff: integrated "
    "loudness of the mix minus the target's. Balance: each known source's K-weighted loudness "
    "in the mix minus in the target, over the blocks where it plays in the target (BS.1770 "
    "gates), mix-wide offset (the mean over the song's sources) removed; median and 90th "
    "percentile of |error| over every source of every song. Gain err: mean |gain - per-frame "
    "oracle gain|. Oracles: oracle (per frame, least squares), static-oracle (one gain per "
    "channel, optimised on MR-STFT), slew-oracle (the product's fader speed), balance-oracle "
    "(one gain per channel, optimised on the balance metric: the ceiling of the balance columns; "
    "it judges no song). A song where an oracle other than the balance-oracle is worse than RAW "
    "on level-matched MR-STFT is flagged and left out of the averages."
)


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
