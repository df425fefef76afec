"""One console channel on screen: number and full name, state, input meter with a dB scale, model
gain, sent gain, offset."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
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
EDGE_CHAR = "▕"
"""The strip's right edge: the cell a `vkey` border draws on the right."""
EDGE_WIDTH = 1
READOUT_FRAMES = 4
"""The peak and RMS numbers change every this many frames (~5 a second at 20 fps)."""
READOUT_SETTLE_S = 0.25
"""When no frame came for this long, the readouts show the latest hop (MixerScreen)."""

STATE_STYLES = {
    "auto": Style(color="green"),
    "locked": Style(color="yellow", bold=True),
    "manual": Style(color="cyan", bold=True),
    "human": Style(color="magenta", bold=True),
    "protected": Style(color="red", bold=True),
    "frozen": Style(color="black", bgcolor="yellow", bold=True),
    "bypass": Style(color="white", bgcolor="red", bold=True),
    "listen": Style(color="cyan"),
    "quiet": Style(color="green", dim=True),
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
    quiet: bool = False,
) -> str:
    """What a strip's state line says: a lost link first (nothing reaches the console), then the
    channel's own held states, then the desk's mode (freeze shows as `frozen`), then listen
    mode (the model proposes, nothing is sent), then `quiet` (only bleed on the channel: the
    activity gate holds its fader), then a relative ride's range (`auto ±6`)."""
    if link and link != "live":
        return f"link {link.split(':')[0]}"
    if state in _OWN_STATES:
        return state
    if mode not in ("", "auto"):
        return _MODE_WORDS.get(mode, mode)
    if listen:
        return "listen"
    if quiet and state == "auto":
        return "quiet"
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
    the dB scale on the right when the strip is wide enough (`width` cells). The rows are
    shared (from `_meter_table`): callers must not change them."""
    peak, rms = _eighths(peak_db, rows), _eighths(rms_db, rows)
    table = _meter_table(rows, width)
    out = []
    for r, cells in enumerate(table):
        below = (rows - 1 - r) * 8
        out.append(cells[min(max(peak - below, 0), 8)][min(max(rms - below, 0), 8)])
    return out


@lru_cache(maxsize=8)
def _meter_table(
    rows: int, width: int
) -> tuple[tuple[tuple[list[tuple[str, Style]], ...], ...], ...]:
    """Every meter row there can be, made once per meter size: [row][peak eighths][rms eighths]
    (0-8 each) -> the row's runs. A frame of 32 strips then builds no row, only picks them."""
    scale = width >= 6 + _SCALE_WIDTH
    lead = " " if width >= 7 + _SCALE_WIDTH or not scale else ""
    labels = scale_labels(rows)
    blank = " " * _SCALE_WIDTH
    table = []
    for r in range(rows):
        zone = _zone(METER_FLOOR_DB * (1 - (rows - r) / rows))
        label = [(labels.get(r, blank), _DIM)] if scale else []
        table.append(
            tuple(
                tuple(
                    [
                        (lead, _PLAIN),
                        (_EIGHTHS[p] * 2, _ZONES_DIM[zone]),
                        (" ", _PLAIN),
                        (_EIGHTHS[q] * 3, _ZONES[zone]),
                        *label,
                    ]
                    for q in range(9)
                )
                for p in range(9)
            )
        )
    return tuple(table)


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
    readout: tuple[float, float] | None = None,
) -> list[list[tuple[str, Style]]]:
    """The strip's text, line by line, as (text, style) runs; `readout` is the (peak, RMS) the
    numbers show (default: the view's, as the meter)."""
    lines = name_lines(number, name, width, color)
    if view is None:
        return [*lines, [("waiting", _DIM)]]
    num = width - 3
    peak_db, rms_db = readout or (view.peak_db, view.rms_db)
    lines.append([(view.state, STATE_STYLES.get(view.state, _PLAIN))])
    lines += meter_rows(view.peak_db, view.rms_db, max(height - _FIXED_ROWS, 1), width)
    lines.append([(f"pk {_db(peak_db, num)}", _PLAIN)])
    lines.append([(f"rms{_db(rms_db, num)}", _PLAIN)])
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

    Drawn with the line API, repainting only the lines that changed since the last hop: a
    frame must stay cheap (the UI draws every hop of 32 strips). The right edge (a `vkey`
    border in $panel-lighten-2) is drawn as the last cell of each line, not by a CSS border:
    Textual's border pass rebuilds every changed line once more (about a quarter of a frame
    at 330x45), and the cells are the same.

    The peak and RMS readouts change every `READOUT_FRAMES` frames (about 5 a second at
    20 fps; numbers that change 20 times a second cannot be read): the peak shows the highest
    peak since the last readout (a peak hold), the RMS the latest. Each strip renews them on
    its own frame of the `READOUT_FRAMES` (by its index), so a frame redraws a quarter of the
    numbers, not all of them every fourth frame. The meter bars, the model and sent gains and
    the state change every frame.
    """

    DEFAULT_CSS = """
    ChannelStrip {
        width: 10;
        height: 1fr;
        min-height: 10;
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
        self._readout: tuple[float, float] | None = None
        """The peak and RMS readouts shown (dB), None before the first view."""
        self._held_peak_db = -math.inf
        self._frames = 0
        """Views since the readouts were renewed (0: they show the latest)."""
        self._until = 0
        """Views until the next renewal (each strip on its own phase)."""
        self._runs: list[list[tuple[str, Style]]] = []
        self._strips: dict[int, Strip] = {}
        self._base: Style | None = None
        """The widget's own style (colours, background), cached: computing it walks the DOM."""
        self._edge: Segment | None = None
        """The right edge's cell, cached with `_base`."""
        self._styled: dict[Style, Style] = {}
        """Each run's style on `_base`, cached with it."""

    def show_view(self, view: StripView) -> None:
        if view == self.view:
            return
        self.view = view
        self._held_peak_db = max(self._held_peak_db, view.peak_db)
        self._frames += 1
        self._until -= 1
        if self._readout is None:
            # Strips renew their readouts on different frames (a quarter of them each frame
            # with READOUT_FRAMES = 4), so no frame redraws every number at once.
            self._until = READOUT_FRAMES - self.index % READOUT_FRAMES
            self._renew_readout()
        elif self._until <= 0:
            self._until = READOUT_FRAMES
            self._renew_readout()
        self._redraw()

    @property
    def readout_settled(self) -> bool:
        """The readouts show the latest view (none held since the last readout)."""
        return self._frames == 0

    def settle_readout(self) -> None:
        """The readouts show the latest view now (the hops stopped coming: a paused or ended
        show must not keep numbers a few hops old)."""
        if self.view is not None and self._frames:
            self._renew_readout()
            self._redraw()

    def _renew_readout(self) -> None:
        assert self.view is not None
        self._readout = (self._held_peak_db, self.view.rms_db)
        self._held_peak_db, self._frames = -math.inf, 0

    def _redraw(self) -> None:
        """Repaint the lines that changed."""
        width, height = self.size
        old, self._runs = self._runs, self._lines(self.view, width, height)
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

    def _forget_style(self) -> None:
        """Drop every line and style made with the widget's old style."""
        self._strips.clear()
        self._base = self._edge = None
        self._styled = {}

    def _restyle(self) -> None:
        self._forget_style()
        self.refresh()

    def watch_selected(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        self._forget_style()
        super().notify_style_update()

    def on_resize(self) -> None:
        width, height = self.size
        self._runs = self._lines(self.view, width, height)
        self._restyle()

    def _lines(
        self, view: StripView | None, width: int, height: int
    ) -> list[list[tuple[str, Style]]]:
        """The lines inside the edge (`width` - 1 cells), the readouts as held."""
        return strip_lines(
            self.channel_name,
            view,
            width - EDGE_WIDTH,
            height,
            self.index + 1,
            self.color,
            readout=self._readout,
        )

    def _edge_cell(self, base: Style) -> Segment:
        """The right edge on this line's background (the widget's, selected or not)."""
        edge = self._edge
        if edge is None:
            color = Color.parse(self.app.get_css_variables().get("panel-lighten-2", "#45505A"))
            edge = self._edge = Segment(EDGE_CHAR, base + Style(color=color.rich_color))
        return edge

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is None:
            base = self._base
            if base is None:
                base = self._base = self.rich_style
            inner = max(width - EDGE_WIDTH, 0)
            runs = self._runs[y] if y < len(self._runs) else []
            styled = self._styled
            segments = []
            for text, style in runs:
                full = styled.get(style)
                if full is None:
                    full = styled[style] = base + style
                segments.append(Segment(text, full))
            used = sum(cell_len(text) for text, _ in runs)
            if used > inner:
                segments = list(Strip(segments).crop(0, inner))
            elif used < inner:
                segments.append(Segment(" " * (inner - used), base))
            if width > inner:
                segments.append(self._edge_cell(base))
            # One Strip per line, made once (each carries its own caches).
            strip = self._strips[y] = Strip(segments, width)
        return strip

    @property
    def text(self) -> str:
        """What the strip shows inside its edge, as plain text (for logs and tests)."""
        inner = max(self.size.width - EDGE_WIDTH, 0)
        return "\n".join(
            self.render_line(y).crop(0, inner).text.rstrip() for y in range(self.size.height)
        )
