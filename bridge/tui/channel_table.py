"""A profile's channel map as a table: capture -> strip, name, floor, ceiling, offset, protect,
activity gate."""

from __future__ import annotations

from typing import Any

from rich.console import JustifyMethod
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from bridge.tui.profile_draft import COLUMNS, cell_text

_GOOD_TYPES: dict[str, tuple[type, ...]] = {
    "capture": (int,),
    "strip": (int,),
    "name": (str,),
    "protected": (bool,),
    "gate": (bool,),
}


def _cell(field: str, value: Any) -> Text:
    allowed = _GOOD_TYPES.get(field, (int, float))
    typed_ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    # A value of the wrong kind (text typed into a number) is shown red until it is fixed.
    style = "" if typed_ok else "bold red"
    justify: JustifyMethod = "left" if field == "name" else "right"
    return Text(cell_text(value, field), style=style, justify=justify)


class ChannelMapTable(DataTable[Text]):
    """One row per mapped channel; the cursor picks the cell to edit."""

    DEFAULT_CSS = """
    ChannelMapTable {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=True)

    def on_mount(self) -> None:
        for field, heading in COLUMNS:
            self.add_column(heading, key=field)

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        """Replace the rows, keeping the cursor where it was when it still fits."""
        cursor = self.cursor_coordinate
        self.clear()
        for i, row in enumerate(rows):
            self.add_row(*(_cell(f, row.get(f, "")) for f, _ in COLUMNS), key=str(i))
        if rows:
            self.move_cursor(row=min(cursor.row, len(rows) - 1), column=cursor.column)

    def set_value(self, row: int, field: str, value: Any) -> None:
        self.update_cell(str(row), field, _cell(field, value))

    @property
    def cursor_field(self) -> tuple[int, str]:
        """(row, ChannelMap field) under the cursor."""
        coord: Coordinate = self.cursor_coordinate
        return coord.row, COLUMNS[coord.column][0]
