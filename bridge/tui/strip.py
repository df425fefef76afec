"""One console channel on screen: name, state, input meter, model gain, sent gain, offset."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

METER_FLOOR_DB = -60.0
_EIGHTHS = " ▁▂▃▄▅▆▇█"
_FIXED_ROWS = 7
"""Text rows around the meter: name, state, peak, rms, model, sent, offset."""

STATE_STYLES = {
    "auto": Style(color="green"),
    "locked": Style(color="yellow", bold=True),
    "manual": Style(color="cyan", bold=True),
    "human": Style(color="magenta", bold=True),
    "protected": Style(color="red", bold=True),
}
_BOLD = Style(bold=True)
_DIM = Style(dim=True)
_PLAIN = Style()
_CHANGED = Style(color="yellow")
_MANUAL = Style(color="cyan")
_ZONES = {name: Style(color=name) for name in ("red", "yellow", "green")}
_ZONES_DIM = {name: Style(color=name, dim=True) for name in ("red", "yellow", "green")}


@dataclass(frozen=True)
class StripView:
    """What one strip shows for one hop."""

    peak_db: float
    rms_db: float
    model_db: float
    sent_db: float
    state: str
    offset_db: float
    manual_db: float


def _zone(top_db: float) -> str:
    if top_db > -6.0:
        return "red"
    if top_db > -18.0:
        return "yellow"
    return "green"


def _eighths(level_db: float, rows: int) -> int:
    frac = (level_db - METER_FLOOR_DB) / -METER_FLOOR_DB
    return round(min(max(frac, 0.0), 1.0) * rows * 8)


def _db(value: float, width: int) -> str:
    if not math.isfinite(value) or value <= -100.0:
        return "-inf".rjust(width)
    return f"{value:+.1f}".rjust(width)


def meter_rows(peak_db: float, rms_db: float, rows: int) -> list[list[tuple[str, Style]]]:
    """A vertical peak bar and RMS bar, `rows` high, -60..0 dBFS, in eighth-block steps."""
    peak, rms = _eighths(peak_db, rows), _eighths(rms_db, rows)
    lines = []
    for r in range(rows):
        below = (rows - 1 - r) * 8
        zone = _zone(METER_FLOOR_DB * (1 - (rows - r) / rows))
        lines.append(
            [
                (" ", _PLAIN),
                (_EIGHTHS[min(max(peak - below, 0), 8)] * 2, _ZONES_DIM[zone]),
                (" ", _PLAIN),
                (_EIGHTHS[min(max(rms - below, 0), 8)] * 3, _ZONES[zone]),
            ]
        )
    return lines


def strip_lines(
    name: str, view: StripView | None, width: int, height: int
) -> list[list[tuple[str, Style]]]:
    """The strip's text, line by line, as (text, style) runs."""
    lines: list[list[tuple[str, Style]]] = [[(name, _BOLD)]]
    if view is None:
        return [*lines, [("waiting", _DIM)]]
    num = width - 3
    lines.append([(view.state, STATE_STYLES.get(view.state, _PLAIN))])
    lines += meter_rows(view.peak_db, view.rms_db, max(height - _FIXED_ROWS, 1))
    lines.append([(f"pk {_db(view.peak_db, num)}", _PLAIN)])
    lines.append([(f"rms{_db(view.rms_db, num)}", _PLAIN)])
    lines.append([(f"mdl{_db(view.model_db, num)}", _DIM)])
    lines.append([(f"out{_db(view.sent_db, num)}", _BOLD)])
    if view.state == "manual":
        lines.append([(f"man{_db(view.manual_db, num)}", _MANUAL)])
    else:
        style = _PLAIN if view.offset_db == 0.0 else _CHANGED
        lines.append([(f"off{_db(view.offset_db, num)}", style)])
    return lines


class ChannelStrip(Widget):
    """A narrow vertical strip; the selected one is highlighted.

    Drawn with the line API, repainting only the lines that changed since the last hop: the
    engine shares the GIL with the UI, so a frame must stay cheap.
    """

    DEFAULT_CSS = """
    ChannelStrip {
        width: 10;
        height: 1fr;
        min-height: 10;
        border-right: vkey $panel-lighten-2;
    }
    ChannelStrip.-selected {
        background: $accent 35%;
    }
    """

    selected: reactive[bool] = reactive(False, toggle_class="-selected")

    def __init__(self, index: int, name: str) -> None:
        super().__init__(id=f"strip-{index}")
        self.index = index
        self.channel_name = name
        self.view: StripView | None = None
        self._runs: list[list[tuple[str, Style]]] = []
        self._strips: dict[int, Strip] = {}
        self._base: Style | None = None
        """The widget's own style (colours, background), cached: computing it walks the DOM."""

    def show_view(self, view: StripView) -> None:
        if view == self.view:
            return
        self.view = view
        width, height = self.size
        old, self._runs = self._runs, strip_lines(self.channel_name, view, width, height)
        if len(old) != len(self._runs):
            self._strips.clear()
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, self._runs, strict=True)):
            if before != after:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def _restyle(self) -> None:
        self._strips.clear()
        self._base = None
        self.refresh()

    def watch_selected(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        self._strips.clear()
        self._base = None
        super().notify_style_update()

    def on_resize(self) -> None:
        width, height = self.size
        self._runs = strip_lines(self.channel_name, self.view, width, height)
        self._restyle()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is None:
            base = self._base
            if base is None:
                base = self._base = self.rich_style
            if y < len(self._runs):
                runs = self._runs[y]
                segments = [Segment(text, base + style) for text, style in runs]
                used = sum(cell_len(text) for text, _ in runs)
                if used <= width:
                    # One Strip per line (each carries its own caches): pad here, not after.
                    if used < width:
                        segments.append(Segment(" " * (width - used), base))
                    strip = Strip(segments, width)
                else:
                    strip = Strip(segments).crop(0, width)
            else:
                strip = Strip.blank(width, base)
            self._strips[y] = strip
        return strip

    @property
    def text(self) -> str:
        """What the strip shows, as plain text (for logs and tests)."""
        return "\n".join(self.render_line(y).text.rstrip() for y in range(self.size.height))
