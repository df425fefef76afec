"""The master/status panel: mode, model and rate, live profile, timing, faults, source and
each output's connection state, and a sparkline of the selected channel's sent gain."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from bridge.engine import HopSnapshot
from bridge.tui.sparkline import GainSparkline
from bridge.tui.strip import READOUT_FRAMES

SPARK_FRAMES = 2
"""The sparkline and its label change every this many frames (10 a second at 20 fps)."""

MODE_STYLES = {
    "auto": "bold black on green",
    "freeze": "bold black on yellow",
    "bypass": "bold white on red",
    "restore": "bold white on blue",
}


@dataclass(frozen=True)
class MasterView:
    """Everything the panel shows for one refresh."""

    snapshot: HopSnapshot | None
    sinks: list[str] = field(default_factory=list)
    status: str = ""
    channel_name: str = ""
    sent_history: list[float] = field(default_factory=list)
    history_s: float = 10.0
    profile: str = ""
    """The live mapping profile's name ('' when the show did not start from one)."""
    engine_gone: str = ""
    """Why the engine process is gone, when it ended before the show did ('' otherwise)."""


def model_label(gain_source: object) -> str:
    """The gain source's name, with its rate (MR or SR, from a `rate` or `mode` attribute) when
    it has one and the name does not already say it."""
    name = str(getattr(gain_source, "name", type(gain_source).__name__))
    for attr in ("rate", "mode"):
        rate = getattr(gain_source, attr, None)
        if isinstance(rate, str) and rate:
            return name if rate.lower() in name.lower() else f"{name} ({rate.upper()})"
    return name


def info_text(
    source_name: str,
    hop_s: float,
    view: MasterView,
    readout: tuple[int, float, float] | None = None,
) -> Text:
    """The panel's text lines (the show's title is the panel's border title). `readout` is the
    (hop, t, compute ms) the timing line shows (default: the snapshot's)."""
    snap = view.snapshot
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"gains: {source_name}  ")
    mode = snap.mode if snap is not None else "auto"
    out.append(f" {mode.upper()} ", style=MODE_STYLES.get(mode, "bold"))
    if snap is not None and snap.link != "live":  # an output's link is down: every fader held
        out.append(f" LINK {snap.link.split(':')[0].upper()} ", style="bold white on red")
    out.append(f"  profile: {view.profile or 'none'}  ·  ")
    out.append("p", style="bold")
    out.append(" profiles", style="dim")
    out.append("  ?", style="bold")
    out.append(" keys", style="dim")
    if snap is None:
        out.append("\nwaiting for the first hop\n\n", style="dim")
    else:
        budget_ms = hop_s * 1000
        index, t, compute_ms = readout or (snap.index, snap.t, snap.compute_ms)
        late = compute_ms > budget_ms
        out.append(f"\nhop {index}  t {t:.1f} s  compute ")
        out.append(f"{compute_ms:.2f} ms", style="bold red" if late else "bold")
        out.append(f" / {budget_ms:.0f} ms  misses ")
        out.append(str(snap.misses), style="bold red" if snap.misses else "")
        out.append("  faults ")
        out.append(str(snap.faults), style="bold red" if snap.faults else "")
        # Always a line, so the panel's height (and the layout) stays put from hop to hop.
        out.append("\n")
        if view.engine_gone:  # the engine process died: nothing drives the faders any more
            out.append(f" {view.engine_gone.upper()} ", style="bold white on red")
            out.append("  ")
        if snap.source_lost:  # no audio: every fader frozen until the device is back
            out.append(f" {snap.source_lost.upper()} · FADERS FROZEN ", style="bold white on red")
            out.append("  ")
        if snap.alarm:  # the deadline alarm: a banner no one can miss
            out.append(f" DEADLINE ALARM: {snap.alarm} ", style="bold white on red")
            out.append("  ")
        out.append(
            f"last fault: {snap.last_fault or 'none'}", style="red" if snap.last_fault else ""
        )
        stats = "  ".join(f"{k} {v}" for k, v in snap.source_stats.items()) or "ok"
        out.append(f"\nsource: {stats}")
    for line in view.sinks:
        out.append(f"\n{line}")
    return out


class MasterPanel(Vertical):
    """Bottom panel; `show_view` is called from the app's message handler only.

    The timing line's hop, time and compute change every `READOUT_FRAMES` frames (the compute
    shown is the slowest hop since the last readout, so a spike is not lost between two
    readouts); the sent-gain sparkline and its label every `SPARK_FRAMES` (a 10 s trend: it
    was a third of a frame's CPU at 330 columns), at once when another channel is selected;
    everything else shows the latest hop. A line is redrawn only when its text changed.
    """

    DEFAULT_CSS = """
    MasterPanel {
        height: auto;
        border-top: hkey $primary;
        padding: 0 1;
    }
    MasterPanel #status {
        height: 1;
        color: $warning;
    }
    MasterPanel #spark-label {
        height: 1;
        color: $text-muted;
    }
    MasterPanel Sparkline {
        height: 2;
    }
    """

    def __init__(self, title: str, source_name: str, hop_s: float) -> None:
        super().__init__(id="master")
        self.source_name = source_name
        self.hop_s = hop_s
        self.border_title = title
        self._info_lines = -1
        self._shown: dict[str, object] = {}
        """What each line last showed (its Text or string), to skip redrawing it unchanged."""
        self._readout: tuple[int, float, float] | None = None
        self._slowest_ms = 0.0
        self._frames = 0
        self._last_index = -1
        self._spark_frames = 0
        self._spark_channel: str | None = None
        """The channel the sparkline shows (None before the first frame)."""
        self._spark_pending = False
        """A hop came since the sparkline was last drawn."""
        self._spark_empty = True
        """The sparkline drawn has no data (the first hop's is drawn at once)."""

    def compose(self) -> ComposeResult:
        yield Static(id="info")
        yield Static(id="status")
        yield Static(id="spark-label")
        yield GainSparkline([], id="spark")

    def _timing(self, snap: HopSnapshot | None, new_hop: bool) -> tuple[int, float, float] | None:
        """The timing readout for this frame: renewed every READOUT_FRAMES new hops."""
        if snap is None:
            return None
        if new_hop:
            self._slowest_ms = max(self._slowest_ms, snap.compute_ms)
            self._frames += 1
            if self._readout is None or self._frames >= READOUT_FRAMES:
                self._readout = (snap.index, snap.t, self._slowest_ms)
                self._slowest_ms, self._frames = 0.0, 0
        return self._readout

    @property
    def readout_settled(self) -> bool:
        """The timing line and the sparkline show the latest hop (none held)."""
        return self._frames == 0 and not self._spark_pending

    def settle_readout(self, view: MasterView) -> None:
        """The timing line and the sparkline show `view`'s hop now (the hops stopped coming)."""
        snap = view.snapshot
        if snap is not None and (self._frames or self._spark_pending):
            self._readout = (snap.index, snap.t, self._slowest_ms)
            self._slowest_ms, self._frames = 0.0, 0
            self.show_view(view, spark=True)

    def _update(self, key: str, content: Text, layout: bool = False) -> None:
        if self._shown.get(key) != content:
            self._shown[key] = content
            self.query_one(f"#{key}", Static).update(content, layout=layout)

    def show_view(self, view: MasterView, spark: bool = False) -> None:
        """Show `view`; `spark`: draw the sparkline now whatever its schedule."""
        snap = view.snapshot
        new_hop = snap is not None and snap.index != self._last_index  # not a redraw of it
        if snap is not None and new_hop:
            self._last_index = snap.index
            self._spark_frames += 1
            self._spark_pending = True
        info = info_text(self.source_name, self.hop_s, view, self._timing(snap, new_hop))
        lines = info.plain.count("\n")
        # A layout pass costs more than the rest of a frame: only when the height changes.
        self._update("info", info, layout=lines != self._info_lines)
        self._info_lines = lines
        self._update("status", Text(view.status))
        hist = view.sent_history
        # Not on the frame that renewed the timing line: the two dearest redraws of the panel
        # on different frames (the sparkline waits one more).
        timing_renewed = new_hop and self._frames == 0
        if (
            spark
            or view.channel_name != self._spark_channel
            or (self._spark_frames >= SPARK_FRAMES and not timing_renewed)
            or (self._spark_empty and bool(hist))
        ):
            self._spark_channel = view.channel_name
            self._spark_empty = not hist
            self._spark_frames, self._spark_pending = 0, False
            label = f"{view.channel_name} sent, last {view.history_s:.0f} s"
            if hist:
                label += f": {min(hist):+.1f} .. {max(hist):+.1f} dB, now {hist[-1]:+.1f} dB"
            self._update("spark-label", Text(label))
            self.query_one("#spark", Sparkline).data = hist
