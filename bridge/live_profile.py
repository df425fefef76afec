"""Switching the live profile: its per-channel limits go into the running show's safety stage.

Only floor, ceiling, offset, relative range and protection change; the output target (console
address, kind) stays as the show was started, since re-pointing a live output is not done
mid-show.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.profiles import Profile
from bridge.safety import ChannelState, SafetyStage


@dataclass(frozen=True)
class ApplyResult:
    """What a switch changed: show channel indices (0-based) matched and left alone."""

    matched: list[int]
    unmatched: list[int]

    def describe(self, name: str) -> str:
        n = len(self.matched) + len(self.unmatched)
        if not self.matched:
            return f"profile {name}: none of this show's capture channels is in it; nothing changed"
        return (
            f"live profile {name}: limits set on {len(self.matched)} of {n} channels "
            "(output unchanged)"
        )


def apply_profile_limits(
    safety: SafetyStage, profile: Profile, capture_channels: list[int]
) -> ApplyResult:
    """Give show channel i (capture channel `capture_channels[i]`, 1-based) the profile's
    floor/ceiling/offset, relative range, activity gate and protection. A channel the profile
    protects becomes protected; one it no longer protects goes back to auto; locked, manual and
    human states stay the engineer's.
    """
    by_capture = {c.capture: c for c in profile.channels}
    matched: list[int] = []
    unmatched: list[int] = []
    for i, capture in enumerate(capture_channels[: safety.n]):
        m = by_capture.get(capture)
        if m is None:
            unmatched.append(i)
            continue
        settings = safety.channels[i]
        # The engine reads these between hops; a float store is atomic, and the floor and ceiling
        # are set in the order that never leaves floor above ceiling for a hop.
        if m.floor_db > settings.ceiling_db:
            settings.ceiling_db = m.ceiling_db
            settings.floor_db = m.floor_db
        else:
            settings.floor_db = m.floor_db
            settings.ceiling_db = m.ceiling_db
        safety.nudge_offset(i, m.offset_db - settings.offset_db)
        settings.range_db = m.range_db
        settings.gate = m.gate
        if m.protected and settings.state is not ChannelState.PROTECTED:
            safety.set_state(i, ChannelState.PROTECTED)
        elif not m.protected and settings.state is ChannelState.PROTECTED:
            safety.set_state(i, ChannelState.AUTO)
        matched.append(i)
    return ApplyResult(matched, unmatched)


def show_capture_channels(source: object, n_channels: int) -> list[int]:
    """The 1-based capture channel behind each show channel: a live capture's own list, else
    1..n (a file's channels are its capture channels)."""
    channels = getattr(source, "channels", None)
    if (
        isinstance(channels, list)
        and len(channels) == n_channels
        and all(isinstance(c, int) for c in channels)
    ):
        return [c + 1 for c in channels]
    return list(range(1, n_channels + 1))
