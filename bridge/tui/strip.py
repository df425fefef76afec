"""One console channel on screen: number and full name, state, input meter with a dB scale, model
gain, sent gain, offset."""

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
NAME_ROWS = 2
"""The channel number and name take two lines (a console name is at most 12 characters)."""
_FIXED_ROWS = NAME_ROWS + 6
"""Text rows around the meter: number and name, state, peak, rms, model, sent, offset."""
_SCALE_WIDTH = 3

STATE_STYLES = {
    "auto": Style(color="green"),
    "locked": Style(color="yellow", bold=True),
    "manual": Style(color="cyan", bold=True),
    "human": Style(color="magenta", bold=True),
    "protected": Style(color="red", bold=True),
    "frozen": Style(color="black", bgcolor="yellow", bold=True),
    "bypass": Style(color="white", bgcolor="red", bold=True),
    "listen": Style(color="cyan"),
}
_MODE_WORDS = {"freeze": "frozen"}
"""How a strip names the desk's mode when it holds this channel (other modes by their name)."""
_OWN_STATES = ("locked", "manual", "human", "protected")
"""States that win over the desk's mode on a strip: the engineer set them on this channel."""
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


def shown_state(
    state: str,
    mode: str = "auto",
    link: str = "live",
    *,
    listen: bool = False,
    range_db: float | None = None,
) -> str:
    """What a strip's state line says: a lost link first (nothing reaches the console), then the
    channel's own held states, then the desk's mode (freeze shows as `frozen`), then listen
    mode (the model proposes, nothing is sent), then a relative ride's range (`auto ±6`)."""
    if link and link != "live":
        return f"link {link.split(':')[0]}"
    if state in _OWN_STATES:
        return state
    if mode not in ("", "auto"):
        return _MODE_WORDS.get(mode, mode)
    if listen:
        return "listen"
    if range_db is not None and state == "auto":
        return f"auto ±{range_db:g}"
    return state


def wrap_name(number: int, name: str, width: int) -> list[str]:
    """The channel number and the full name on `NAME_ROWS` lines of `width` cells: on one line
    when they fit, else the number alone over a name that fits a line, else broken after a
    space, '_', '/' or '-' in the first line, else mid-word (nothing is dropped up to
    2 x `width` cells)."""
    num = str(number)
    text = f"{num} {name}"
    if len(text) <= width:
        return [text, ""]
    if len(name) <= width:
        return [num, name]
    cut = max(text.rfind(c, 0, width) for c in " _/-") + 1
    if cut <= len(num) + 1:
        cut = width
    return [text[:cut].rstrip(), text[cut:].lstrip()[:width]]


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


def scale_labels(rows: int) -> dict[int, str]:
    """The dB scale beside a meter `rows` high: {row (0 = top): label}. Round steps (6, 12, 15,
    20 or 30 dB); at most one label per row, and one every other row on a tall meter."""
    most = rows if rows <= 6 else rows // 2
    step = next((s for s in (6, 12, 15, 20, 30) if 60 // s <= most), 60)
    labels: dict[int, str] = {}
    for value in range(0, int(METER_FLOOR_DB), -step):
        labels.setdefault(round(-value * rows / -METER_FLOOR_DB), str(value))
    return {r: text.rjust(_SCALE_WIDTH) for r, text in labels.items() if r < rows}


def meter_rows(
    peak_db: float, rms_db: float, rows: int, width: int = 10
) -> list[list[tuple[str, Style]]]:
    """A vertical peak bar and RMS bar, `rows` high, -60..0 dBFS, in eighth-block steps, with
    the dB scale on the right when the strip is wide enough (`width` cells)."""
    peak, rms = _eighths(peak_db, rows), _eighths(rms_db, rows)
    scale = width >= 6 + _SCALE_WIDTH
    lead = " " if width >= 7 + _SCALE_WIDTH or not scale else ""
    labels = scale_labels(rows)
    blank = " " * _SCALE_WIDTH
    lines = []
    for r in range(rows):
        below = (rows - 1 - r) * 8
        zone = _zone(METER_FLOOR_DB * (1 - (rows - r) / rows))
        line = [
            (lead, _PLAIN),
            (_EIGHTHS[min(max(peak - below, 0), 8)] * 2, _ZONES_DIM[zone]),
            (" ", _PLAIN),
            (_EIGHTHS[min(max(rms - below, 0), 8)] * 3, _ZONES[zone]),
        ]
        if scale:
            line.append((labels.get(r, blank), _DIM))
        lines.append(line)
    return lines


def name_lines(
    number: int, name: str, width: int, color: str | None = None
) -> list[list[tuple[str, Style]]]:
    """The number (bold, on the console's channel colour when known) and the wrapped name."""
    first, *rest = wrap_name(number, name, max(width, 1))
    num = str(number)
    chip = Style(bold=True, color="black", bgcolor=color) if color else _BOLD
    head = [(num, chip), (first[len(num) :], _BOLD)] if first.startswith(num) else [(first, _BOLD)]
    return [head, *([(line, _BOLD)] for line in rest)]


def strip_lines(
    name: str,
    view: StripView | None,
    width: int,
    height: int,
    number: int = 1,
    color: str | None = None,
) -> list[list[tuple[str, Style]]]:
    """The strip's text, line by line, as (text, style) runs."""
    lines = name_lines(number, name, width, color)
    if view is None:
        return [*lines, [("waiting", _DIM)]]
    num = width - 3
    lines.append([(view.state, STATE_STYLES.get(view.state, _PLAIN))])
    lines += meter_rows(view.peak_db, view.rms_db, max(height - _FIXED_ROWS, 1), width)
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

    def __init__(self, index: int, name: str, color: str | None = None) -> None:
        super().__init__(id=f"strip-{index}")
        self.index = index
        self.channel_name = name
        self.color = color
        """The console's colour for this channel (a Rich colour), None when it is not known."""
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
        old, self._runs = self._runs, self._lines(view, width, height)
        if len(old) != len(self._runs):
            self._strips.clear()
            self.refresh()
            return
        changed = [
            Region(0, y, width, 1)
            for y, (before, after) in enumerate(zip(old, self._runs, strict=True))
            if before != after
        ]
        for region in changed:
            self._strips.pop(region.y, None)
        if changed:
            self.refresh(*changed)  # one call: each refresh call has its own upkeep

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
        self._runs = self._lines(self.view, width, height)
        self._restyle()

    def _lines(
        self, view: StripView | None, width: int, height: int
    ) -> list[list[tuple[str, Style]]]:
        return strip_lines(self.channel_name, view, width, height, self.index + 1, self.color)

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
