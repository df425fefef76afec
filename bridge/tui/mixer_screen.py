"""The mixer screen: a strip per channel, the master panel, and the engineer's override keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalScroll
from textual.screen import Screen
from textual.widgets import Footer

from bridge.engine import HopSnapshot
from bridge.show import Show
from bridge.tui.history import SentHistory
from bridge.tui.master import MasterPanel, MasterView, model_label
from bridge.tui.overrides import OverrideDesk
from bridge.tui.strip import READOUT_SETTLE_S, ChannelStrip, StripView, shown_state
from bridge.tui.strip_jump import ChannelJump, digit_bindings, visible_range

_SELECT = Binding.Group("ch", compact=True)
_FINE = Binding.Group("±0.5", compact=True)
_COARSE = Binding.Group("±3", compact=True)


class MixerScreen(Screen[None]):
    """Draws the latest hop when the app asks (`draw`); its keys go through the override desk."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "select(-1)", "prev", key_display="←", group=_SELECT),
        Binding("right,l", "select(1)", "next", key_display="→", group=_SELECT),
        Binding("space", "freeze", "freeze", key_display="spc"),
        Binding("b", "bypass", "bypass"),
        Binding("s", "restore", "snapshot", show=False),
        Binding("k", "lock", "lock"),
        Binding("minus", "nudge(-0.5)", "-0.5 dB", key_display="-", group=_FINE),
        Binding("plus,equals_sign", "nudge(0.5)", "+0.5 dB", key_display="+", group=_FINE),
        Binding("left_square_bracket", "nudge(-3.0)", "-3 dB", key_display="[", group=_COARSE),
        Binding("right_square_bracket", "nudge(3.0)", "+3 dB", key_display="]", group=_COARSE),
        Binding("m", "manual", "manual"),
        Binding("r", "release", "release"),
        Binding("u", "undo", "undo"),
        # Shown in the master panel's first line: the footer is full at 80 columns.
        Binding("p", "app.profiles", "profiles", show=False),
        Binding("question_mark", "app.help", "help: every key", key_display="?", show=False),
        *digit_bindings(),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self, show: Show, desk: OverrideDesk, history: SentHistory, history_s: float
    ) -> None:
        super().__init__(id="mixer")
        self.show = show
        self.desk = desk
        self.history = history
        self.history_s = history_s
        self.selected = 0
        self.finished = False
        self.status_text = ""
        self.live_profile = ""
        self.snapshot: HopSnapshot | None = None
        self.strips: list[ChannelStrip] = []
        self.master: MasterPanel | None = None
        self.jump = ChannelJump(len(show.names))
        self.scroll_text = ""
        self._new_hops = False
        """A hop was drawn since the last readout tick."""
        self.readout_settle_s = READOUT_SETTLE_S
        self._last_sinks: list[str] = []

    def compose(self) -> ComposeResult:
        with HorizontalScroll(id="strips", can_focus=False):
            colors = list(getattr(self.show, "colors", None) or [])
            for i, name in enumerate(self.show.names):
                yield ChannelStrip(i, name, colors[i] if i < len(colors) else None)
        yield MasterPanel(
            self.show.title, model_label(self.show.gain_source), self.show.engine.hop_s
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.strips = list(self.query(ChannelStrip))
        self.strips[0].selected = True
        self.master = self.query_one(MasterPanel)
        row = self.query_one("#strips", HorizontalScroll)
        self.watch(row, "scroll_x", self._show_scroll, init=False)
        self.set_interval(self.readout_settle_s, self.settle_readouts)
        self.draw()

    def on_resize(self) -> None:
        # The selected strip stays in view whatever the terminal's width.
        if self.strips:
            self.call_after_refresh(self.strips[self.selected].scroll_visible, animate=False)

    def _show_scroll(self) -> None:
        """'strips 9-28 of 32' in the master panel's title while not every strip fits."""
        row = self.query_one("#strips", HorizontalScroll)
        strip_w = self.strips[0].outer_size.width if self.strips else 0
        first, last = visible_range(row.scroll_x, row.scrollable_content_region.width, strip_w)
        n = len(self.strips)
        last = min(last, n)
        text = f"strips {first}-{last} of {n}" if strip_w and (first > 1 or last < n) else ""
        if text != self.scroll_text and self.master is not None:
            self.scroll_text = text
            title = self.show.title
            self.master.border_title = f"{title} · {text}" if text else title

    def draw(self, snapshot: HopSnapshot | None = None) -> None:
        """Show `snapshot` (or the last one again, e.g. after an override) on every widget."""
        if snapshot is not None:
            self.snapshot = snapshot
            self._new_hops = True
        snap = self.snapshot
        channels = self.show.engine.safety.channels
        if snap is not None:
            # Listen mode (an output that sends nothing) and a relative ride, where the build
            # has them: read by name, so the strips need no change when they come or go.
            listen = any(getattr(sink, "listen", False) is True for sink in self.show.sinks)
            relative = getattr(self.show.engine.safety, "ride", "absolute") == "relative"
            link = str(getattr(snap, "link", "live"))
            quiet = set(getattr(snap, "quiet", ()))
            for i, strip in enumerate(self.strips):
                settings = channels[i]
                range_db = getattr(settings, "range_db", None) if relative else None
                strip.show_view(
                    StripView(
                        peak_db=float(snap.peak_db[i]),
                        rms_db=float(snap.rms_db[i]),
                        model_db=float(snap.model_db[i]),
                        sent_db=float(snap.sent_db[i]),
                        state=shown_state(
                            snap.states[i],
                            snap.mode,
                            link,
                            listen=listen,
                            range_db=range_db,
                            quiet=i in quiet,
                        ),
                        offset_db=settings.offset_db,
                        manual_db=settings.manual_db,
                    )
                )
        if self.master is None:
            return
        self._show_scroll()
        sinks = []
        for sink in self.show.sinks:
            try:
                sinks.append(f"{sink.name}: {sink.status()}")
            except Exception as exc:  # a broken status line must not take the UI down
                sinks.append(f"{sink.name}: status failed ({exc})")
        if self.show.learn is not None:  # learn mode: how much of the engineer's mix is recorded
            sinks.append(self.show.learn.status())
        self._last_sinks = sinks
        self.master.show_view(self._master_view(sinks))

    def _master_view(self, sinks: list[str]) -> MasterView:
        return MasterView(
            snapshot=self.snapshot,
            sinks=sinks,
            status=self.status_text,
            channel_name=self.show.names[self.selected],
            sent_history=self.history.series(self.selected),
            history_s=self.history_s,
            profile=self.live_profile,
            engine_gone=str(getattr(self.show, "gone", "")),
        )

    @property
    def readouts_settled(self) -> bool:
        """Every readout shows the latest hop drawn (none is held)."""
        master = self.master is None or self.master.readout_settled
        return master and all(strip.readout_settled for strip in self.strips)

    def settle_readouts(self, now: bool = False) -> None:
        """Every `readout_settle_s`: when no new hop came since the last call (or `now`: the
        show ended), the held readouts (peak, RMS, compute) show the latest hop, so a paused
        or ended show does not keep numbers a few hops old."""
        if self._new_hops and not now:
            self._new_hops = False
            return
        for strip in self.strips:
            strip.settle_readout()
        if self.master is not None:
            self.master.settle_readout(self._master_view(self._last_sinks))

    def say(self, text: str) -> None:
        prefix = "finished — press q · " if self.finished else ""
        self.status_text = prefix + text
        self.draw()

    def action_select(self, delta: int) -> None:
        self.select_channel(self.selected + delta)

    def action_digit(self, digit: int) -> None:
        """Typing a channel number jumps to it (digits typed close together make one number)."""
        ch = self.jump.type(digit)
        if ch is None:
            self.say(f"no channel {self.jump.typed}: {len(self.strips)} channels")
            return
        self.select_channel(ch)
        self.say(f"channel {ch + 1} {self.show.names[ch]}")

    def select_channel(self, index: int) -> None:
        strips = self.strips
        new = min(max(index, 0), len(strips) - 1)
        if new == self.selected:
            return
        strips[self.selected].selected = False
        strips[new].selected = True
        self.selected = new
        strips[new].scroll_visible(animate=False)
        self.draw()

    def action_freeze(self) -> None:
        self.say(self.desk.toggle_freeze())

    def action_bypass(self) -> None:
        self.say(self.desk.toggle_bypass())

    def action_restore(self) -> None:
        """Glide every fader back to the soundcheck snapshot, then hold it there."""
        self.show.engine.restore_snapshot()
        self.say("restoring the soundcheck snapshot (then frozen; space resumes)")

    def action_lock(self) -> None:
        self.say(self.desk.toggle_lock(self.selected))

    def action_nudge(self, delta_db: float) -> None:
        self.say(self.desk.nudge(self.selected, delta_db))

    def action_manual(self) -> None:
        self.say(self.desk.set_manual(self.selected))

    def action_release(self) -> None:
        self.say(self.desk.release(self.selected))

    def action_undo(self) -> None:
        self.say(self.desk.undo())

    async def action_quit(self) -> None:
        await self.app.action_quit()
