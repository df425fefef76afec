"""Outputs: where gains become fader moves (consoles, DAWs, MIDI, files)."""

from bridge.outputs.base import GainSink, HumanMoveCallback

__all__ = ["GainSink", "HumanMoveCallback"]
