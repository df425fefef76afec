"""Behringer X32/M32 and X-Air/MR over OSC: fader law, addresses, console models, the client."""

from bridge.outputs.x32.client import X32Client

__all__ = ["X32Client"]
