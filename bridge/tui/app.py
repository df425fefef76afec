"""The mixer TUI app: wires a Show's engine thread to the mixer screen, and opens the profiles."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import deque
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer

from bridge.config import USER_MAPPINGS_DIR
from bridge.engine import HopSnapshot
from bridge.live_profile import ApplyResult, show_capture_channels
from bridge.profiles import Profile
from bridge.profiles import profile_dirs as default_profile_dirs
from bridge.show import Show
from bridge.tui.help_screen import HelpScreen
from bridge.tui.history import SentHistory
from bridge.tui.log_screen import KEEP_LINES, LogLine, LogScreen
from bridge.tui.messages import EngineFinished, HopUpdate
from bridge.tui.mixer_screen import MixerScreen
from bridge.tui.overrides import OverrideDesk
from bridge.tui.profiles_screen import ProfilesScreen
from bridge.tui.strip_cycles import install as install_strip_cycles

log = logging.getLogger(__name__)

install_strip_cycles()  # every drawn line freed when dropped, not by the collector

FRAME_S = 0.02
"""The shortest time between two renders (at most 50 a second): only a burst of hops (an engine
catching up) is coalesced. Hops come 20 a second, so a hop is drawn when it comes. A longer
throttle delays the render of a hop that comes early after one drawn late, and the renders then
lock on to lag the hops by up to the throttle: at 40 ms a render came 35-40 ms after its hop,
and whenever the screen's refresh ran long the next hop replaced it (2-12 % of the hops at
330x45 with 32 strips, measured with benchmarks/tui_frame.py's `drawn`)."""
HISTORY_S = 10.0
QUIT_WAIT_S = 1.0
DONE_POLL_S = 0.2
GC_THRESHOLDS = (10_000, 50, 100)
"""The garbage collector's thresholds while the app runs (Python's default: 700, 10, 10).
Textual's Strip caches can hold the strip itself, so every line drawn and dropped is a small
reference cycle that only the collector frees. With the default thresholds those cycles outlive
the young collections (a few ms apart) and pile up for full ones: at 330x45 and 20 fps a full
collection came every ~0.9 s and took 40-150 ms (28,000 objects each), a stall that dropped
frames and held the GIL. A young collection every ~10,000 allocations (~60 ms here) frees them
while young, in under ~10 ms, and a full one comes every few minutes."""
FRAME_LOG = 4096
"""Frame costs kept for measurement (about 3 minutes at 20 fps)."""


class MixerApp(App[None]):
    """The mixer screen over a running Show; `p` opens the profiles screen on top of it."""

    CSS_PATH = "mixer.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("g", "log", "log", show=False),
    ]

    def __init__(
        self,
        show: Show,
        *,
        run_engine: bool = True,
        exit_when_done: bool = False,
        profile_dirs: list[Path] | None = None,
        user_dir: Path | None = None,
        live_profile: str = "",
        capture_channels: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.show = show
        self.run_engine = run_engine
        self.exit_when_done = exit_when_done
        self.title = show.title
        self.user_dir = user_dir or USER_MAPPINGS_DIR
        dirs = list(profile_dirs) if profile_dirs is not None else default_profile_dirs()
        self.profile_dirs = dirs if self.user_dir in dirs else [*dirs, self.user_dir]
        n = len(show.names)
        self.capture_channels = capture_channels or show_capture_channels(show.source, n)
        # A show in an engine process (bridge.engine_process) brings its own desk: the actions
        # run there, beside the settings they change.
        make_desk = getattr(show, "make_desk", None)
        self.desk = (
            make_desk()
            if make_desk is not None
            else OverrideDesk(show.engine.safety, show.names, show.engine.release)
        )
        self.history = SentHistory(n, max(1, round(HISTORY_S / show.engine.hop_s)))
        self.mixer = MixerScreen(show, self.desk, self.history, HISTORY_S)
        self.mixer.live_profile = live_profile
        self.frame_ms: deque[float] = deque(maxlen=FRAME_LOG)
        """How long each hop-driven redraw of the mixer took on the UI thread, ms."""
        self._gc_before: tuple[int, ...] | None = None
        """The collector's thresholds before the app set GC_THRESHOLDS (restored at unmount)."""
        self.frames_behind: deque[int] = deque(maxlen=FRAME_LOG)
        """Hops the engine had run past the one drawn, at each redraw (0 = no lag)."""
        self._snap: HopSnapshot | None = None
        self._last_render = 0.0
        self._pending: Timer | None = None
        self._listening = False
        self._done_poll: Timer | None = None
        self.log_lines: deque[tuple[int, str]] = deque(maxlen=KEEP_LINES)
        """Log records of the show (never printed over the screen): `g` shows them."""

    def get_default_screen(self) -> MixerScreen:
        return self.mixer

    @property
    def finished(self) -> bool:
        return self.mixer.finished

    def on_mount(self) -> None:
        # Everything built so far lives as long as the app: keep it out of full garbage
        # collections, whose pauses (tens of ms) hold the GIL against the engine and the meters.
        self.call_after_refresh(self._freeze_heap)
        self._listening = True
        self.show.add_listener(self._on_engine_hop)
        if self.run_engine:
            self.run_worker(self._run_show, name="engine", thread=True, exit_on_error=False)
        else:
            # Someone else runs the show: notice its end by watching the event.
            self._done_poll = self.set_interval(DONE_POLL_S, self._poll_done)

    def _freeze_heap(self) -> None:
        if self._listening:  # not when the app is already closing (unmount unfreezes)
            gc.freeze()
            self._gc_before = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)

    def on_unmount(self) -> None:
        self._listening = False
        self.show.stop()
        if self._gc_before is not None:
            gc.set_threshold(*self._gc_before)
            self._gc_before = None
        gc.unfreeze()

    # Engine thread: no widgets here, only thread-safe appends and posts.

    def _on_engine_hop(self, snap: HopSnapshot) -> None:
        if not self._listening:
            return
        self.history.append(snap.sent_db)
        try:
            self.post_message(HopUpdate(snap))
        except RuntimeError:  # the app's loop closed under us while quitting
            self._listening = False

    def _run_show(self) -> None:
        error = ""
        try:
            self.show.run()
        except Exception as exc:  # shown to the engineer instead of tearing the UI down
            log.exception("show failed")
            error = f"{type(exc).__name__}: {exc}"
        if self._listening:
            with contextlib.suppress(RuntimeError):
                self.post_message(EngineFinished(error))

    # UI thread.

    def _poll_done(self) -> None:
        if self.show.done.is_set() and self._done_poll is not None:
            self._done_poll.stop()
            self._done_poll = None
            self.post_message(EngineFinished())

    def _is_ending(self) -> bool:
        """The app is ending (quit, the show's end, or a shutdown from outside): the screens may
        already be gone, so nothing is drawn any more."""
        return not self._listening or not self.is_running

    def on_hop_update(self, message: HopUpdate) -> None:
        if self._is_ending():
            return
        self._snap = message.snapshot
        wait = FRAME_S - (time.monotonic() - self._last_render)
        if wait <= 0:
            self._render_now()
        elif self._pending is None:
            self._pending = self.set_timer(wait, self._render_now)

    def on_engine_finished(self, message: EngineFinished) -> None:
        if self._is_ending():
            return
        self.mixer.finished = True
        self._snap = self.show.engine.latest or self._snap
        self.mixer.status_text = "finished — press q" + (
            f" ({message.error})" if message.error else ""
        )
        self._render_now()
        self.mixer.settle_readouts(now=True)  # the last hop's numbers, not a held readout
        if self.exit_when_done:
            self._listening = False
            self.exit()

    def _render_now(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        if self._is_ending():
            return
        self._last_render = time.monotonic()
        if self.screen is not self.mixer:
            # Hidden under another screen: keep the latest, draw it when the mixer is back.
            self.mixer.snapshot = self._snap or self.mixer.snapshot
            return
        t0 = time.perf_counter()
        self.mixer.draw(self._snap)
        self.frame_ms.append((time.perf_counter() - t0) * 1000)
        latest, drawn = self.show.engine.latest, self._snap
        if latest is not None and drawn is not None:
            self.frames_behind.append(latest.index - drawn.index)

    def on_log_line(self, message: LogLine) -> None:
        self.log_lines.append((message.level, message.text))
        if isinstance(self.screen, LogScreen):
            self.screen.add(message.level, message.text)
        elif message.level >= logging.WARNING and self.screen is self.mixer:
            line = f"{message.text.split(': ', 1)[-1]}  (g: log)"
            if line != self.mixer.status_text:  # a fault repeated every hop: one redraw
                self.mixer.say(line)

    def action_log(self) -> None:
        if not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen(self.log_lines))

    def action_profiles(self) -> None:
        screen = ProfilesScreen(
            self.profile_dirs,
            self.user_dir,
            apply_live=self.apply_live_profile,
            live_profile=self.mixer.live_profile,
            apply_question=self.apply_question,
        )
        self.push_screen(screen, lambda _: self.mixer.draw())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def apply_live_profile(self, profile: Profile) -> ApplyResult:
        """Put `profile`'s per-channel limits on the running show (the output stays); `u` on
        the mixer takes the whole apply back."""
        result = self.desk.apply_profile(profile, self.capture_channels)
        if result.matched:
            self.mixer.live_profile = profile.name
        self.mixer.status_text = result.describe(profile.name)
        return result

    def apply_question(self, profile: Profile) -> str:
        """What to ask before applying `profile` live ('' = nothing to ask): the offsets it
        would replace."""
        offsets = {c.capture: c.offset_db for c in profile.channels}
        new = {
            i: offsets[cap]
            for i, cap in enumerate(self.capture_channels[: len(self.show.names)])
            if cap in offsets
        }
        dropped = self.desk.offsets_dropped(new)
        if not dropped:
            return ""
        shown = ", ".join(dropped[:4]) + (
            f" and {len(dropped) - 4} more" if len(dropped) > 4 else ""
        )
        return (
            f"Applying {profile.name} replaces the offset on {len(dropped)} channel"
            f"{'s' if len(dropped) > 1 else ''}: {shown}.\nApply it? (u on the mixer undoes it)"
        )

    async def action_quit(self) -> None:
        self._listening = False
        self.show.stop()
        if self.run_engine and not self.show.done.is_set():
            await asyncio.to_thread(self.show.done.wait, QUIT_WAIT_S)
        self.exit()


def make_app(
    show: Show,
    *,
    run_engine: bool = True,
    exit_when_done: bool = False,
    profile_dirs: list[Path] | None = None,
    user_dir: Path | None = None,
    live_profile: str = "",
    capture_channels: list[int] | None = None,
) -> MixerApp:
    """The TUI for `show`. run_engine=False when the caller runs the show itself;
    exit_when_done=True quits once the source ends (otherwise the final state stays up).

    Profiles: listed from `profile_dirs` (default: mappings/ and the user's folder) plus
    `user_dir`, where "save as" writes (default ~/.config/ailive/mappings). `live_profile` names
    the profile the show started with; `capture_channels` (1-based, one per show channel) says
    which profile rows apply to which strip (default: the source's own, else 1..n).
    """
    return MixerApp(
        show,
        run_engine=run_engine,
        exit_when_done=exit_when_done,
        profile_dirs=profile_dirs,
        user_dir=user_dir,
        live_profile=live_profile,
        capture_channels=capture_channels,
    )
