"""The help screen (`?`): every key of every screen, read from the bindings (bridge.tui.keys)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from bridge.tui.keys import sections


def help_table() -> Table:
    """Every screen's keys, one section each."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for i, (title, rows) in enumerate(sections()):
        if i:
            table.add_row("", "")
        table.add_row("", Text(title, style="bold underline"))
        for row in rows:
            table.add_row(row.keys, row.what)
    return table


class HelpScreen(ModalScreen[None]):
    """Over the mixer; esc, ? or q closes it (arrows and page keys scroll)."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 80;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-keys {
        width: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "close", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys"
            scroll.border_subtitle = "↑ ↓ PgUp PgDn: scroll · esc ? q: close"
            yield Static(help_table(), id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def text(self) -> str:
        """What the help says, as plain text (for tests)."""
        from rich.console import Console

        console = Console(width=200, record=True, file=None, color_system=None)
        with console.capture() as capture:
            console.print(help_table())
        return capture.get()
