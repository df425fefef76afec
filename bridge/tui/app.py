"""The mixer TUI app: wires a Show's engine thread to the strips and master panel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalScroll
from textual.timer import Timer
from textual.widgets import Footer

from bridge.engine import HopSnapshot
from bridge.show import Show
from bridge.tui.history import SentHistory
from bridge.tui.master import MasterPanel, MasterView
from bridge.tui.messages import EngineFinished, HopUpdate
from bridge.tui.overrides import OverrideDesk
from bridge.tui.strip import ChannelStrip, StripView

log = logging.getLogger(__name__)

FRAME_S = 0.05
"""At most ~20 renders a second; hops arrive at that rate anyway."""
HISTORY_S = 10.0
QUIT_WAIT_S = 1.0
DONE_POLL_S = 0.2

_SELECT = Binding.Group("ch", compact=True)
_FINE = Binding.Group("±0.5", compact=True)
_COARSE = Binding.Group("±3", compact=True)


class MixerApp(App[None]):
    """Strips for every channel, a master panel, and the engineer's override keys."""

    CSS_PATH = "mixer.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "select(-1)", "prev", key_display="←", group=_SELECT),
        Binding("right,l", "select(1)", "next", key_display="→", group=_SELECT),
        Binding("space", "freeze", "freeze", key_display="spc"),
        Binding("b", "bypass", "bypass"),
        Binding("k", "lock", "lock"),
        Binding("minus", "nudge(-0.5)", "-0.5 dB", key_display="-", group=_FINE),
        Binding("plus,equals_sign", "nudge(0.5)", "+0.5 dB", key_display="+", group=_FINE),
        Binding("left_square_bracket", "nudge(-3.0)", "-3 dB", key_display="[", group=_COARSE),
        Binding("right_square_bracket", "nudge(3.0)", "+3 dB", key_display="]", group=_COARSE),
        Binding("m", "manual", "manual"),
        Binding("r", "release", "release"),
        Binding("u", "undo", "undo"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self, show: Show, *, run_engine: bool = True, exit_when_done: bool = False
    ) -> None:
        super().__init__()
        self.show = show
        self.run_engine = run_engine
        self.exit_when_done = exit_when_done
        self.title = show.title
        self.desk = OverrideDesk(show.engine.safety, show.names)
        self.history = SentHistory(len(show.names), max(1, round(HISTORY_S / show.engine.hop_s)))
        self.selected = 0
        self.finished = False
        self.status_text = ""
        self._snap: HopSnapshot | None = None
        self._last_render = 0.0
        self._pending: Timer | None = None
        self._listening = False
        self._done_poll: Timer | None = None
        self.strips: list[ChannelStrip] = []

    def compose(self) -> ComposeResult:
        with HorizontalScroll(id="strips", can_focus=False):
            for i, name in enumerate(self.show.names):
                yield ChannelStrip(i, name)
        yield MasterPanel(self.show.title, self.show.gain_source.name, self.show.engine.hop_s)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.strips = list(self.query(ChannelStrip))
        self.strips[0].selected = True
        self._listening = True
        self.show.add_listener(self._on_engine_hop)
        if self.run_engine:
            self.run_worker(self._run_show, name="engine", thread=True, exit_on_error=False)
        else:
            # Someone else runs the show: notice its end by watching the event.
            self._done_poll = self.set_interval(DONE_POLL_S, self._poll_done)
        self._render_now()

    def on_unmount(self) -> None:
        self._listening = False
        self.show.stop()

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

    def on_hop_update(self, message: HopUpdate) -> None:
        self._snap = message.snapshot
        wait = FRAME_S - (time.monotonic() - self._last_render)
        if wait <= 0:
            self._render_now()
        elif self._pending is None:
            self._pending = self.set_timer(wait, self._render_now)

    def on_engine_finished(self, message: EngineFinished) -> None:
        self.finished = True
        self._snap = self.show.engine.latest or self._snap
        self.status_text = "finished — press q" + (f" ({message.error})" if message.error else "")
        self._render_now()
        if self.exit_when_done:
            self.exit()

    def _render_now(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        self._last_render = time.monotonic()
        snap = self._snap
        channels = self.show.engine.safety.channels
        if snap is not None:
            for i, strip in enumerate(self.strips):
                settings = channels[i]
                strip.show_view(
                    StripView(
                        peak_db=float(snap.peak_db[i]),
                        rms_db=float(snap.rms_db[i]),
                        model_db=float(snap.model_db[i]),
                        sent_db=float(snap.sent_db[i]),
                        state=snap.states[i],
                        offset_db=settings.offset_db,
                        manual_db=settings.manual_db,
                    )
                )
        sinks = []
        for sink in self.show.sinks:
            try:
                sinks.append(f"{sink.name}: {sink.status()}")
            except Exception as exc:  # a broken status line must not take the UI down
                sinks.append(f"{sink.name}: status failed ({exc})")
        self.query_one(MasterPanel).show_view(
            MasterView(
                snapshot=snap,
                sinks=sinks,
                status=self.status_text,
                channel_name=self.show.names[self.selected],
                sent_history=self.history.series(self.selected),
                history_s=HISTORY_S,
            )
        )

    def _say(self, text: str) -> None:
        prefix = "finished — press q · " if self.finished else ""
        self.status_text = prefix + text
        self._render_now()

    def action_select(self, delta: int) -> None:
        strips = self.strips
        new = min(max(self.selected + delta, 0), len(strips) - 1)
        if new == self.selected:
            return
        strips[self.selected].selected = False
        strips[new].selected = True
        self.selected = new
        strips[new].scroll_visible(animate=False)
        self._render_now()

    def action_freeze(self) -> None:
        self._say(self.desk.toggle_freeze())

    def action_bypass(self) -> None:
        self._say(self.desk.toggle_bypass())

    def action_lock(self) -> None:
        self._say(self.desk.toggle_lock(self.selected))

    def action_nudge(self, delta_db: float) -> None:
        self._say(self.desk.nudge(self.selected, delta_db))

    def action_manual(self) -> None:
        self._say(self.desk.set_manual(self.selected))

    def action_release(self) -> None:
        self._say(self.desk.release(self.selected))

    def action_undo(self) -> None:
        self._say(self.desk.undo())

    async def action_quit(self) -> None:
        self._listening = False
        self.show.stop()
        if self.run_engine and not self.show.done.is_set():
            await asyncio.to_thread(self.show.done.wait, QUIT_WAIT_S)
        self.exit()


def make_app(show: Show, *, run_engine: bool = True, exit_when_done: bool = False) -> MixerApp:
    """The TUI for `show`. run_engine=False when the caller runs the show itself;
    exit_when_done=True quits once the source ends (otherwise the final state stays up)."""
    return MixerApp(show, run_engine=run_engine, exit_when_done=exit_when_done)
