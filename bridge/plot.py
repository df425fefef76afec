"""`ailive plot`: one panel per channel, the gain sent over time with the model's proposal, the
floor and ceiling, frozen and held spans shaded, and the song's sections when it knows them.

Drawn with matplotlib (an optional extra: `pip install 'ailive-mixer[plot]'`); without it the
caller gets one line saying so (`PlotUnavailable`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from bridge import trace as trace_mod
from bridge.trace import Trace

PLOT_NAME = "gains.png"
MISSING = "plotting needs matplotlib: pip install 'ailive-mixer[plot]' (or the train extra)"

SENT = "#1f4e9c"
MODEL = "#e07b00"
LIMITS = "#777777"
FROZEN = "#9e9e9e"
HELD = "#d62728"
BYPASS = "#8e44ad"
SECTION_LINE = "#bbbbbb"
SECTION_COLOURS = ("#e8eef7", "#f6f6f6")


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def load(path: Path) -> Trace:
    """The trace behind `path`: a show folder (trace.npz, else gains.csv), a render's mix file
    (MIX.trace.npz beside it), a .npz trace or a gains CSV (the sent gains only)."""
    from bridge.outputs.automation import read_automation_csv

    candidates: list[Path]
    if path.is_dir():
        candidates = [path / trace_mod.TRACE_NAME, path / "gains.csv"]
    elif path.suffix == ".npz":
        candidates = [path]
    elif path.suffix == ".csv":
        stem = path.name.removesuffix(".gains.csv").removesuffix(".csv")
        candidates = [path.with_name(f"{stem}.trace.npz"), path]
    else:
        candidates = [path.with_suffix(".trace.npz"), path.with_suffix(".gains.csv")]
    for cand in candidates:
        if not cand.is_file():
            continue
        if cand.suffix == ".npz":
            return trace_mod.read(cand)
        names, times, gains = read_automation_csv(cand)
        return Trace(names=names, t=times, sent_db=gains, title=path.stem)
    raise FileNotFoundError(f"{path}: no {' or '.join(c.name for c in candidates)} here")


def spans(mask: np.ndarray, t: np.ndarray, hop_s: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each run of True in `mask` (one entry per hop at times `t`)."""
    out: list[tuple[float, float]] = []
    if not len(mask):
        return out
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        out.append((float(t[start]) - hop_s, float(t[end - 1])))
    return out


def grid(n_channels: int) -> tuple[int, int]:
    """(rows, columns) of panels: one column up to 6 channels, two up to 16, then four."""
    cols = 1 if n_channels <= 6 else 2 if n_channels <= 16 else 4
    return math.ceil(n_channels / cols), cols


def _ylim(tr: Trace, ch: int) -> tuple[float, float]:
    sent = tr.sent_db[:, ch]
    finite = sent[np.isfinite(sent)]
    floor = float(tr.floor_db[ch]) if tr.floor_db is not None else None
    ceiling = float(tr.ceiling_db[ch]) if tr.ceiling_db is not None else None
    lo_data = float(finite.min()) if finite.size else -20.0
    hi_data = float(finite.max()) if finite.size else 6.0
    lo = min(lo_data, floor if floor is not None else lo_data) - 2.0
    hi = max(hi_data, ceiling if ceiling is not None else hi_data) + 2.0
    # A floor far below the ride (e.g. -40 dB) would squash it: show the ride, mark the floor.
    lo = max(lo, lo_data - 12.0)
    return lo, hi


def draw(tr: Trace, out: Path, *, dpi: int = 100) -> Path:
    """Write the picture of `tr` to `out` (PNG, or any format matplotlib knows by suffix)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable(MISSING) from exc

    n = len(tr.names)
    rows, cols = grid(max(n, 1))
    width = 7.5 if cols == 1 else 5.0 * cols
    ribbon = 1 if tr.sections else 0
    fig = Figure(figsize=(width, 0.9 + 0.3 * ribbon + 1.45 * rows), dpi=dpi, layout="constrained")
    all_axes = fig.subplots(
        rows + ribbon,
        cols,
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [0.18] * ribbon + [1.0] * rows},
    )
    axes = all_axes[ribbon:]
    hop_s = float(np.median(np.diff(tr.t))) if len(tr.t) > 1 else 0.05
    t = tr.t
    frozen = spans(tr.frozen(), t, hop_s)
    bypassed = spans(tr.bypassed(), t, hop_s)
    held = tr.held()
    end = float(t[-1]) if len(t) else 1.0
    if ribbon:
        for ax in all_axes[0]:
            _section_ribbon(ax, tr.sections, end)
    for k in range(rows * cols):
        ax = axes[k // cols][k % cols]
        if k >= n:
            ax.set_visible(False)
            continue
        for i, sec in enumerate(tr.sections):
            if i:
                ax.axvline(sec["start_s"], color=SECTION_LINE, lw=0.6, zorder=0)
        for a, b in frozen:
            ax.axvspan(a, b, color=FROZEN, alpha=0.35, lw=0)
        for a, b in bypassed:
            ax.axvspan(a, b, color=BYPASS, alpha=0.15, lw=0)
        for a, b in spans(held[:, k], t, hop_s):
            ax.axvspan(a, b, color=HELD, alpha=0.15, lw=0)
        lo, hi = _ylim(tr, k)
        if tr.floor_db is not None and tr.ceiling_db is not None:
            floor, ceiling = float(tr.floor_db[k]), float(tr.ceiling_db[k])
            ax.axhline(floor, color=LIMITS, lw=0.8, ls=":")
            ax.axhline(ceiling, color=LIMITS, lw=0.8, ls=":")
            off = "" if floor >= lo else " (off scale)"
            ax.text(
                0.995,
                0.03,
                f"floor {floor:+.0f}{off} · ceiling {ceiling:+.0f} dB",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=6,
                color=LIMITS,
            )
        if tr.model_db is not None:
            ax.plot(t, tr.model_db[:, k], color=MODEL, lw=0.8, alpha=0.9)
        ax.plot(t, tr.sent_db[:, k], color=SENT, lw=1.5)
        ax.set_ylim(lo, hi)
        ax.set_xlim(0.0, end)
        ax.set_title(f"{k + 1} {tr.names[k]}", loc="left", fontsize=8, fontweight="bold", pad=2)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", color="#eeeeee", lw=0.5)
        if k % cols == 0:
            ax.set_ylabel("dB", fontsize=7)
        if k // cols == rows - 1 or k + cols >= n:
            ax.set_xlabel("time (s)", fontsize=7)
            ax.tick_params(labelbottom=True)
    fig.suptitle((tr.title + ": " if tr.title else "") + "fader gain (0 dB = unity)", fontsize=10)
    fig.legend(handles=_legend(tr), loc="outside lower center", ncol=6, fontsize=8, frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def _section_ribbon(ax: Any, sections: list[dict[str, Any]], end: float) -> None:
    """The song's sections as labelled boxes above the panels."""
    for i, sec in enumerate(sections):
        start, stop = float(sec["start_s"]), min(float(sec["end_s"]), end)
        if start >= end:
            break
        ax.axvspan(start, stop, color=SECTION_COLOURS[i % 2], lw=0)
        ax.text(
            (start + stop) / 2,
            0.5,
            str(sec["name"]),
            ha="center",
            va="center",
            fontsize=7,
            transform=ax.get_xaxis_transform(),
            clip_on=True,
        )
    ax.set_yticks([])
    ax.tick_params(labelbottom=False, bottom=False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def _legend(tr: Trace) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Line2D([], [], color=SENT, lw=1.5, label="sent")]
    if tr.model_db is not None:
        handles.append(Line2D([], [], color=MODEL, lw=0.8, label="model proposal"))
    if tr.floor_db is not None:
        handles.append(Line2D([], [], color=LIMITS, lw=0.8, ls=":", label="floor / ceiling"))
    if tr.modes is not None:
        handles.append(Patch(color=FROZEN, alpha=0.35, label="frozen"))
        handles.append(Patch(color=BYPASS, alpha=0.15, label="bypass"))
    if tr.states is not None:
        handles.append(Patch(color=HELD, alpha=0.15, label="held (lock, manual, person)"))
    return handles


def plot(path: Path, out: Path | None = None) -> Path:
    """Load what `path` holds (see `load`) and draw it; the default picture is the show
    folder's gains.png, or MIX.gains.png beside a render's mix."""
    tr = load(path)
    if out is None:
        out = path / PLOT_NAME if path.is_dir() else _beside(path, ".gains.png")
    return draw(tr, out)


def _beside(path: Path, suffix: str) -> Path:
    name = path.name
    for ending in (".trace.npz", ".gains.csv"):
        if name.endswith(ending):
            return path.with_name(name.removesuffix(ending) + suffix)
    return path.with_suffix(suffix)
