"""The engineer's override actions on the safety stage, with an undo stack.

Every change goes through `SafetyStage`, so what the TUI shows is what the outputs send.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bridge.safety import ChannelState, Mode, SafetyStage

UNDO_DEPTH = 32

_RELEASABLE = (ChannelState.HUMAN, ChannelState.MANUAL, ChannelState.LOCKED)


@dataclass(frozen=True)
class UndoEntry:
    """What an action changed, as it was before. `channel` is None for a global mode change."""

    channel: int | None
    state: ChannelState
    offset_db: float
    manual_db: float
    mode: Mode


class OverrideDesk:
    """Applies the TUI's actions; each returns a one-line description for the status area."""

    def __init__(
        self,
        safety: SafetyStage,
        names: list[str],
        release: Callable[[int], None] | None = None,
    ) -> None:
        self.safety = safety
        self.names = names
        self._release = release
        """The engine's `release`: back to the model here and on every output that yielded."""
        self.undo_stack: deque[UndoEntry] = deque(maxlen=UNDO_DEPTH)

    def _push(self, ch: int | None) -> None:
        s = self.safety.channels[0 if ch is None else ch]
        self.undo_stack.append(UndoEntry(ch, s.state, s.offset_db, s.manual_db, self.safety.mode))

    def _label(self, ch: int) -> str:
        return self.names[ch] if ch < len(self.names) else f"ch{ch + 1}"

    def toggle_freeze(self) -> str:
        self._push(None)
        mode = Mode.AUTO if self.safety.mode is Mode.FREEZE else Mode.FREEZE
        self.safety.set_mode(mode)
        return f"mode {mode.value}"

    def toggle_bypass(self) -> str:
        self._push(None)
        mode = Mode.AUTO if self.safety.mode is Mode.BYPASS else Mode.BYPASS
        self.safety.set_mode(mode)
        return f"mode {mode.value}"

    def toggle_lock(self, ch: int) -> str:
        state = self.safety.channels[ch].state
        if state is ChannelState.PROTECTED:
            return f"{self._label(ch)} is protected"
        self._push(ch)
        new = ChannelState.AUTO if state is ChannelState.LOCKED else ChannelState.LOCKED
        self.safety.set_state(ch, new)
        return f"{self._label(ch)} {new.value}"

    def nudge(self, ch: int, delta_db: float) -> str:
        """Trim the offset; in manual state, move the manual level instead."""
        s = self.safety.channels[ch]
        if s.state is ChannelState.PROTECTED:
            return f"{self._label(ch)} is protected"
        self._push(ch)
        if s.state is ChannelState.MANUAL:
            level = float(np.clip(s.manual_db + delta_db, s.floor_db, s.ceiling_db))
            self.safety.set_state(ch, ChannelState.MANUAL, level)
            return f"{self._label(ch)} manual {level:+.1f} dB"
        self.safety.nudge_offset(ch, delta_db)
        return f"{self._label(ch)} offset {s.offset_db:+.1f} dB"

    def set_manual(self, ch: int) -> str:
        """Hold the channel at the level it is being sent now; +/- then move that level."""
        if self.safety.channels[ch].state is ChannelState.PROTECTED:
            return f"{self._label(ch)} is protected"
        self._push(ch)
        level = float(self.safety.current_db[ch])
        self.safety.set_state(ch, ChannelState.MANUAL, level)
        return f"{self._label(ch)} manual {level:+.1f} dB"

    def release(self, ch: int) -> str:
        """Hand a human-held, manual or locked channel back to the model."""
        state = self.safety.channels[ch].state
        if state not in _RELEASABLE:
            return f"{self._label(ch)} is {state.value}: nothing to release"
        self._push(ch)
        if self._release is not None:
            self._release(ch)
        else:
            self.safety.set_state(ch, ChannelState.AUTO)
        return f"{self._label(ch)} released ({state.value} -> auto)"

    def undo(self) -> str:
        """Put back what the last action changed (a channel's settings, or the mode)."""
        if not self.undo_stack:
            return "nothing to undo"
        entry = self.undo_stack.pop()
        if entry.channel is None:
            self.safety.set_mode(entry.mode)
            return f"undo: mode {entry.mode.value}"
        ch = entry.channel
        self.safety.set_state(ch, entry.state, entry.manual_db)
        self.safety.nudge_offset(ch, entry.offset_db - self.safety.channels[ch].offset_db)
        return f"undo: {self._label(ch)} {entry.state.value}, offset {entry.offset_db:+.1f} dB"
