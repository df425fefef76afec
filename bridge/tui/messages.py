"""Messages the engine thread posts to the TUI (threads never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from bridge.engine import HopSnapshot


@dataclass(eq=False)  # compared by identity: a generated __eq__ would compare numpy arrays
class HopUpdate(Message):
    """One hop's meters and gains; a newer one replaces any still queued (meters never lag)."""

    snapshot: HopSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HopUpdate)


@dataclass
class EngineFinished(Message):
    """The show ended (source exhausted, stopped, or failed with `error`)."""

    error: str = ""
