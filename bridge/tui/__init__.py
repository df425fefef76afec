"""The engineer's terminal UI: watch the model's gains and override them live."""

from __future__ import annotations

from bridge.tui.app import MixerApp, make_app

__all__ = ["MixerApp", "make_app"]
