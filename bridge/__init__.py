"""AiLive Mixer real-time bridge: capture, scheduling, safety, outputs, TUI and CLI."""

__version__ = "0.1.0"
