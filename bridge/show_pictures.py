"""What a render and a show write besides the mix and the gains CSV: the trace (model proposal,
states, modes), the gains picture and, for a render, its summary. Used by `ailive render` and
at the end of `demo`/`run`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bridge import trace as trace_mod
from bridge.engine import EngineStats
from bridge.plot import PlotUnavailable, draw
from bridge.show import Show

log = logging.getLogger(__name__)


def write_pictures(show: Show, trace_path: Path, plot_path: Path) -> dict[str, Path]:
    """Write the show's trace and its picture; {'trace': ..., 'plot': ...} of what was written.
    Without matplotlib the picture is skipped with one log line (the trace still lets
    `ailive plot` draw it later)."""
    tr = trace_mod.trace_of(show, trace_mod.song_sections(show.source))
    if tr is None:
        return {}
    out = {"trace": trace_mod.write(tr, trace_path)}
    try:
        out["plot"] = draw(tr, plot_path)
    except PlotUnavailable as exc:
        log.warning("%s; no %s written", exc, plot_path.name)
    return out


def render_summary(show: Show, stats: EngineStats, files: dict[str, Path]) -> dict[str, Any]:
    """A render's summary: no deadline (it runs as fast as it can), so no deadline misses."""
    return {
        "title": show.title,
        "gain_source": show.gain_source.name,
        "channels": show.names,
        "hops": stats.hops,
        "seconds": round(stats.hops * show.engine.hop_s, 3),
        "realtime": False,
        "compute_ms_p50": round(stats.percentile_ms(50), 3),
        "compute_ms_p99": round(stats.percentile_ms(99), 3),
        "faults": stats.faults,
        "sections": trace_mod.song_sections(show.source),
        "files": {k: str(v) for k, v in files.items()},
    }


def write_render_files(show: Show, stats: EngineStats, mix: Path, gains: Path) -> dict[str, Path]:
    """Beside the render's MIX.wav: MIX.trace.npz, MIX.gains.png, MIX.summary.json."""
    files = {"mix": mix, "gains": gains}
    files |= write_pictures(show, mix.with_suffix(".trace.npz"), mix.with_suffix(".gains.png"))
    summary = mix.with_suffix(".summary.json")
    files["summary"] = summary
    summary.write_text(json.dumps(render_summary(show, stats, files), indent=2) + "\n")
    return files
