"""The engineer's override actions on the safety stage, with an undo stack.

Every change goes through `SafetyStage`, so what the TUI shows is what the outputs send. Undo
takes back only what the engineer did here (keys and live profile applies), newest first; a
person's move on the console and the engine's own changes are never on the stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from bridge.live_profile import ApplyResult, apply_profile_limits
from bridge.profiles import Profile
from bridge.safety import ChannelSettings, ChannelState, Mode, SafetyStage

UNDO_DEPTH = 32

_RELEASABLE = (ChannelState.HUMAN, ChannelState.MANUAL, ChannelState.LOCKED)
_NO_TRIM = {
    ChannelState.LOCKED: "locked: the model is not driving it, so a trim would only land when "
    "you unlock it; unlock (k) first, or take it to manual (m) and set the level",
    ChannelState.HUMAN: "held by a person on the console; release (r) first",
}
"""Why an offset is refused on a channel in this state (it would wait, then jump)."""


@dataclass(frozen=True)
class UndoEntry:
    """One action of the engineer, with what it changed as it was before: the desk's mode
    (None: not changed) and the settings of the channels it touched."""

    what: str
    mode: Mode | None
    channels: tuple[tuple[int, ChannelSettings], ...] = ()

    @property
    def channel(self) -> int | None:
        """The one channel a per-channel action changed (None: the mode, or several)."""
        return self.channels[0][0] if len(self.channels) == 1 else None


def restore_settings(safety: SafetyStage, ch: int, saved: ChannelSettings) -> None:
    """Put channel `ch` back to `saved`: limits first (never floor above ceiling between two
    hops), then the offset and the state, through the stage."""
    now = safety.channels[ch]
    if saved.floor_db > now.ceiling_db:
        now.ceiling_db, now.floor_db = saved.ceiling_db, saved.floor_db
    else:
        now.floor_db, now.ceiling_db = saved.floor_db, saved.ceiling_db
    for f in fields(saved):
        if f.name not in ("floor_db", "ceiling_db", "offset_db", "state", "manual_db"):
            setattr(now, f.name, getattr(saved, f.name))
    safety.nudge_offset(ch, saved.offset_db - now.offset_db)
    # A person's hold keeps the fader where the person has it now (no level is put back).
    human = saved.state is ChannelState.HUMAN
    safety.set_state(ch, saved.state, None if human else saved.manual_db)
    if human:
        now.manual_db = saved.manual_db


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

    def _push(self, what: str, channels: Sequence[int] = (), *, mode: bool = False) -> None:
        saved = tuple((ch, replace(self.safety.channels[ch])) for ch in channels)
        self.undo_stack.append(UndoEntry(what, self.safety.mode if mode else None, saved))

    def record(self, what: str) -> UndoEntry:
        """Remember every channel's settings before a change made outside the desk's keys (a
        live profile apply); `forget` takes it back when the change did nothing."""
        self._push(what, range(self.safety.n))
        return self.undo_stack[-1]

    def forget(self, entry: UndoEntry) -> None:
        if self.undo_stack and self.undo_stack[-1] is entry:
            self.undo_stack.pop()

    def apply_profile(self, profile: Profile, capture_channels: list[int]) -> ApplyResult:
        """Put `profile`'s per-channel limits on the stage as one undoable action (none when
        no channel matched)."""
        entry = self.record(f"profile {profile.name}")
        result = apply_profile_limits(self.safety, profile, capture_channels)
        if not result.matched:
            self.forget(entry)
        return result

    def _label(self, ch: int) -> str:
        return self.names[ch] if ch < len(self.names) else f"ch{ch + 1}"

    def toggle_freeze(self) -> str:
        self._push("freeze", mode=True)
        mode = Mode.AUTO if self.safety.mode is Mode.FREEZE else Mode.FREEZE
        self.safety.set_mode(mode)
        return f"mode {mode.value}"

    def toggle_bypass(self) -> str:
        self._push("bypass", mode=True)
        mode = Mode.AUTO if self.safety.mode is Mode.BYPASS else Mode.BYPASS
        self.safety.set_mode(mode)
        return f"mode {mode.value}"

    def toggle_lock(self, ch: int) -> str:
        state = self.safety.channels[ch].state
        if state is ChannelState.PROTECTED:
            return f"{self._label(ch)} is protected"
        new = ChannelState.AUTO if state is ChannelState.LOCKED else ChannelState.LOCKED
        self._push(f"{self._label(ch)} {'unlock' if new is ChannelState.AUTO else 'lock'}", [ch])
        self.safety.set_state(ch, new)
        return f"{self._label(ch)} {new.value}"

    def nudge(self, ch: int, delta_db: float) -> str:
        """Trim the offset; in manual state, move the manual level instead. On a locked or
        person-held channel the trim is refused (it would wait there and jump later)."""
        s = self.safety.channels[ch]
        if s.state is ChannelState.PROTECTED:
            return f"{self._label(ch)} is protected"
        if s.state in _NO_TRIM:
            return f"{self._label(ch)} is {_NO_TRIM[s.state]}"
        self._push(f"{self._label(ch)} {delta_db:+.1f} dB", [ch])
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
        self._push(f"{self._label(ch)} manual", [ch])
        level = float(self.safety.current_db[ch])
        self.safety.set_state(ch, ChannelState.MANUAL, level)
        return f"{self._label(ch)} manual {level:+.1f} dB"

    def release(self, ch: int) -> str:
        """Hand a human-held, manual or locked channel back to the model."""
        state = self.safety.channels[ch].state
        if state not in _RELEASABLE:
            return f"{self._label(ch)} is {state.value}: nothing to release"
        self._push(f"{self._label(ch)} release", [ch])
        if self._release is not None:
            self._release(ch)
        else:
            self.safety.set_state(ch, ChannelState.AUTO)
        return f"{self._label(ch)} released ({state.value} -> auto)"

    def undo(self) -> str:
        """Take back the engineer's last action (a channel's settings, a profile apply's
        settings on every channel, or the mode), and say what it was."""
        if not self.undo_stack:
            return "nothing to undo"
        entry = self.undo_stack.pop()
        for ch, saved in entry.channels:
            restore_settings(self.safety, ch, saved)
        if entry.mode is not None:
            self.safety.set_mode(entry.mode)
            return f"undid {entry.what}: mode {entry.mode.value}"
        if entry.channel is not None:
            s = self.safety.channels[entry.channel]
            return f"undid {entry.what}: {s.state.value}, offset {s.offset_db:+.1f} dB"
        return f"undid {entry.what}: {len(entry.channels)} channels as before"

    def offsets_dropped(self, new_offsets: dict[int, float]) -> list[str]:
        """The channels whose offset (set by the engineer or an earlier profile) a change to
        `new_offsets` ({channel: offset dB}) would replace: 'Kick +3.0 -> 0.0 dB'."""
        out = []
        for ch, new in sorted(new_offsets.items()):
            old = self.safety.channels[ch].offset_db
            if old != 0.0 and abs(old - new) > 1e-9:
                out.append(f"{self._label(ch)} {old:+.1f} -> {new:+.1f} dB")
        return out
