"""The user's learned models: `$XDG_DATA_HOME/ailive/models/NAME.pt` + `NAME.json` (XDG base
directories; `~/.local/share` when XDG_DATA_HOME is unset or not absolute), and the list of
every model `ailive models` shows."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def models_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "ailive" / "models"


def check_name(name: str) -> str:
    """A learned model's name: letters, digits, '.', '_', '-' (a file name, never a path), not
    a shipped model's or a built-in gain source's."""
    from models.gainsource import GAIN_SOURCES

    if not NAME_RE.match(name) or name.endswith((".pt", ".json")):
        raise ValueError(
            f"model name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (no path, no "
            "extension)"
        )
    if name in GAIN_SOURCES:
        raise ValueError(f"model name {name!r} is a shipped gain source; pick another")
    return name


def learned_path(name: str) -> Path:
    return models_dir() / f"{name}.pt"


def find_learned(name: str) -> Path | None:
    """The checkpoint of learned model `name`, when it exists (weights and sidecar)."""
    if not NAME_RE.match(name):
        return None
    path = learned_path(name)
    return path if path.is_file() and path.with_suffix(".json").is_file() else None


@dataclass
class ModelEntry:
    name: str
    kind: str
    """'shipped' or 'learned'."""
    path: Path
    detail: str
    error: str = ""


def list_models() -> list[ModelEntry]:
    """Shipped checkpoints, then learned ones (a damaged sidecar is listed with its error)."""
    from models.checkpoint import CheckpointError, read_sidecar
    from models.gainsource import SHIPPED, checkpoint_path

    out = []
    for name in SHIPPED:
        path = checkpoint_path(name)
        if path.is_file():
            out.append(ModelEntry(name, "shipped", path, "models/checkpoints"))
    folder = models_dir()
    for sidecar in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        path = sidecar.with_suffix(".pt")
        try:
            meta = read_sidecar(path)
        except CheckpointError as exc:
            out.append(ModelEntry(sidecar.stem, "learned", path, "", str(exc)))
            continue
        t = meta.get("training", {})
        shows = t.get("learned_from") or []
        listed = ", ".join(map(str, shows[:3])) + (" ..." if len(shows) > 3 else "")
        detail = (
            f"from {t.get('base', '?')}, {t.get('engineer_minutes', '?')} min of "
            f"{len(shows)} show(s): {listed}"
        )
        try:
            detail += _levels_detail(t)
        except (TypeError, ValueError):
            out.append(ModelEntry(sidecar.stem, "learned", path, detail,
                                  "its role levels are not a table of dB values"))  # fmt: skip
            continue
        out.append(ModelEntry(sidecar.stem, "learned", path, detail))
    return out


def _levels_detail(training: dict[str, Any]) -> str:
    """ "; your levels: lead +8.5, ..." (the three largest) and how far they move, or ""."""
    levels = training.get("role_levels_db") or {}
    if not isinstance(levels, dict) or not levels:
        return ""
    top = sorted(levels.items(), key=lambda kv: -abs(float(kv[1])))[:3]
    said = "; your levels: " + ", ".join(f"{r} {float(v):+.1f}" for r, v in top)
    strength = float(training.get("role_levels_strength", 1.0))
    return said + (f" ({strength:.0%} of the way)" if strength < 1.0 else "")
