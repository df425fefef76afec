"""The profiles screen: list the mapping profiles, show and validate one, edit its channel map and
limits, save it as a new profile in the user's folder, and switch the live profile's limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from bridge.live_profile import ApplyResult
from bridge.profile_writer import save_profile
from bridge.profiles import Profile, ProfileError, load_profile
from bridge.tui.channel_table import ChannelMapTable
from bridge.tui.confirm import ConfirmScreen
from bridge.tui.profile_draft import (
    SWITCHES,
    Draft,
    ProfileEntry,
    check_line,
    parse_cell,
    scan,
    short_path,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LIST_WIDTH = 24
"""Columns of the profile list (its CSS width)."""
LIVE_NOTE = "apply live: limits and protection only; the output target stays as started"


def _target(top: dict[str, object]) -> str:
    """Where a profile's output goes: a MIDI port, or an OSC host and port."""
    if top.get("output") in ("mackie", "cc"):
        return f"midi {top.get('midi_port') or '?'} ({top.get('midi_transport', 'rtmidi')})"
    where = f"{top.get('host')}:{top.get('port')}"
    if top.get("output") == "reaper" and top.get("listen_port"):
        where += f", listening on {top['listen_port']}"
    return where


class ProfilesScreen(Screen[None]):
    """Opened from the mixer with `p`; escape goes back."""

    CSS_PATH = "profiles.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back", key_display="esc"),
        Binding("e", "edit", "edit"),
        Binding("t", "toggle_protected", "protect"),
        Binding("s", "save_as", "save as"),
        Binding("a", "apply", "apply live"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(
        self,
        dirs: list[Path],
        user_dir: Path,
        *,
        apply_live: Callable[[Profile], ApplyResult],
        live_profile: str = "",
        apply_question: Callable[[Profile], str] | None = None,
    ) -> None:
        super().__init__(id="profiles")
        self.dirs = dirs
        self.user_dir = user_dir
        self.apply_live = apply_live
        self.apply_question = apply_question
        """What to ask before an apply ('' = apply at once), e.g. offsets it would replace."""
        self.live_profile = live_profile
        self.entries: dict[str, ProfileEntry] = {}
        self.drafts: dict[Path, Draft] = {}
        self.current: ProfileEntry | None = None
        self._input_mode: Literal["cell", "save"] | None = None
        self._edit_cell: tuple[int, str] = (0, "")

    def compose(self) -> ComposeResult:
        yield Static(id="profiles-title")
        with Horizontal(id="profiles-main"):
            yield OptionList(id="profile-list")
            with Vertical(id="profile-detail"):
                yield Static(id="profile-summary")
                yield Static(id="profile-check")
                yield ChannelMapTable(id="channel-map")
        yield Input(id="profile-edit", compact=True)
        yield Static(id="profile-status")
        yield Static(LIVE_NOTE, id="profile-note", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    # Widgets.

    @property
    def table(self) -> ChannelMapTable:
        return self.query_one(ChannelMapTable)

    @property
    def draft(self) -> Draft | None:
        """The shown profile's draft (None for a file that failed to load)."""
        if self.current is None or self.current.profile is None:
            return None
        return self.drafts.get(self.current.path)

    @property
    def check_text(self) -> str:
        """The validation line as shown."""
        return str(self.query_one("#profile-check", Static).content)

    def say(self, text: str, *, error: bool = False) -> None:
        style = "bold red" if error else ""
        self.query_one("#profile-status", Static).update(Text(text, style=style))

    def _title(self) -> None:
        live = self.live_profile or "none"
        self.query_one("#profiles-title", Static).update(
            Text.assemble(("Profiles", "bold"), f"  live: {live}  ·  tab: list / table")
        )

    # Listing.

    def reload(self, select: Path | None = None) -> None:
        """Read the folders again (unsaved edits are dropped) and show `select` or the live one."""
        self.drafts.clear()
        self.entries.clear()
        options: list[Option] = []
        for folder, entries in scan(self.dirs):
            label = f"{short_path(folder)}/"
            if len(label) > LIST_WIDTH - 1:  # keep the end: the folder's own name matters most
                label = "…" + label[-(LIST_WIDTH - 2) :]
            options.append(Option(Text(label, style="bold"), disabled=True))
            if not entries:
                options.append(Option(Text("  (none)", style="dim"), disabled=True))
            for entry in entries:
                key = str(entry.path)
                self.entries[key] = entry
                options.append(Option(self._prompt(entry), id=key))
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)
        self._title()
        wanted = next((k for k, e in self.entries.items() if e.path == select), None)
        if wanted is None:
            wanted = next(
                (k for k, e in self.entries.items() if e.profile and self._is_live(e.profile)),
                next(iter(self.entries), None),
            )
        if wanted is None:
            self._show(None)
            return
        listing.highlighted = listing.get_option_index(wanted)
        self._show(self.entries[wanted])

    def _is_live(self, profile: Profile) -> bool:
        return bool(self.live_profile) and profile.name == self.live_profile

    def _prompt(self, entry: ProfileEntry) -> Text:
        if entry.profile is None:
            return Text(f"  ✗ {entry.path.name}", style="red", no_wrap=True, overflow="ellipsis")
        prof = entry.profile
        mark = "● " if self._is_live(prof) else "  "
        return Text.assemble(
            (mark, "green"), entry.path.stem, (f" {prof.output} {len(prof.channels)}ch", "dim")
        )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.entries.get(event.option.id or "")
        if entry is not None and entry is not self.current:
            self._show(entry)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.table.display:
            self.table.focus()

    # One profile.

    def _show(self, entry: ProfileEntry | None) -> None:
        self._stop_input()
        self.current = entry
        summary = self.query_one("#profile-summary", Static)
        if entry is None:
            summary.update(Text("no profiles found", style="dim"))
            self.query_one("#profile-check", Static).update("")
            self.table.display = False
            return
        if entry.profile is None:
            summary.update(Text(f"file {short_path(entry.path)}"))
            self._show_check(entry.path, None, entry.error)
            self.table.display = False
            self.say("this file does not load: fix it, then r to reload")
            return
        draft = self.drafts.setdefault(entry.path, Draft(entry.profile))
        self.table.display = True
        self.table.show_rows(draft.rows)
        self._show_draft(draft)
        self.say("")

    def _show_draft(self, draft: Draft) -> None:
        top = draft.top
        lines = Text(no_wrap=True, overflow="ellipsis")
        lines.append(draft.name, style="bold")
        if top.get("description"):
            lines.append(f"  {top['description']}", style="dim")
        lines.append(
            f"\noutput {top.get('output')}  {_target(top)}  "
            f"max {top.get('max_rate_hz', 0):g} sets/s per fader"
        )
        lines.append(f"\nfile {short_path(draft.path)}")
        if draft.edited:
            lines.append("  (edited, not saved)", style="yellow")
        self.query_one("#profile-summary", Static).update(lines)
        self._show_check(draft.path, draft.profile, draft.error)

    def _show_check(self, path: Path, profile: Profile | None, error: ProfileError | None) -> None:
        line = check_line(path, profile, error, shown=short_path(path))
        style = "bold red" if error is not None else "green"
        self.query_one("#profile-check", Static).update(Text(line, style=style))

    # Editing.

    def _start_input(self, mode: Literal["cell", "save"], value: str, prompt: str) -> None:
        self._input_mode = mode
        field = self.query_one("#profile-edit", Input)
        field.value = value
        self.add_class("-editing")
        field.focus()
        self.say(prompt)

    def _stop_input(self) -> None:
        if self._input_mode is None:
            return
        self._input_mode = None
        self.remove_class("-editing")
        if self.table.display:
            self.table.focus()

    def action_edit(self) -> None:
        draft = self.draft
        if draft is None or not draft.rows:
            self.say("nothing to edit here", error=True)
            return
        row, field = self.table.cursor_field
        if field in SWITCHES:
            self._toggle(field)
            return
        self._edit_cell = (row, field)
        value = draft.rows[row].get(field, "")
        self._start_input(
            "cell",
            str(value),
            f"channels[{row}].{field}: type a value, enter to set, esc to cancel",
        )

    def on_data_table_cell_selected(self, event: ChannelMapTable.CellSelected) -> None:
        self.action_edit()

    def action_toggle_protected(self) -> None:
        self._toggle("protected")

    def _toggle(self, field: str) -> None:
        """A true/false column of the row under the cursor flips (a missing gate is on)."""
        draft = self.draft
        if draft is None or not draft.rows:
            return
        row, _ = self.table.cursor_field
        now = draft.rows[row].get(field, field == "gate")
        self._set(draft, row, field, now is not True)

    def _set(self, draft: Draft, row: int, field: str, value: object) -> None:
        draft.set_cell(row, field, value)
        self.table.set_value(row, field, value)
        self._show_draft(draft)
        self.say("invalid: fix it before saving or applying" if draft.error else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        mode = self._input_mode
        self._stop_input()
        draft = self.draft
        if draft is None:
            return
        if mode == "cell":
            row, field = self._edit_cell
            self._set(draft, row, field, parse_cell(field, event.value))
        elif mode == "save":
            self._save_as(draft, event.value.strip())

    def action_back(self) -> None:
        if self._input_mode is not None:
            self._stop_input()
            self.say("cancelled")
            return
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload(self.current.path if self.current else None)
        self.say("folders read again")

    # Save and apply.

    def _valid(self) -> Profile | None:
        draft = self.draft
        if draft is None:
            self.say("pick a profile that loads", error=True)
            return None
        if draft.profile is None:
            self.say("invalid: fix the error first", error=True)
        return draft.profile

    def action_save_as(self) -> None:
        if self._valid() is None:
            return
        assert self.draft is not None
        self._start_input(
            "save",
            f"{self.draft.path.stem}-copy",
            f"save as (name) in {short_path(self.user_dir)}/, enter to save, esc to cancel",
        )

    def _save_as(self, draft: Draft, name: str) -> None:
        if draft.profile is None:
            return
        if not NAME_RE.match(name):
            self.say(f"{name!r}: use letters, digits, '.', '_' or '-'", error=True)
            return
        path = self.user_dir / f"{name}.toml"
        profile = replace(draft.profile, name=name, path=path)
        if path.exists():

            def answered(yes: bool | None) -> None:
                if yes:
                    self._write(profile, overwrite=True)
                else:
                    self.say(f"not saved: {short_path(path)} kept as it was")

            self.app.push_screen(
                ConfirmScreen(f"{short_path(path)} already exists.\nOverwrite it?"), answered
            )
            return
        self._write(profile, overwrite=False)

    def _write(self, profile: Profile, *, overwrite: bool) -> None:
        try:
            save_profile(profile, profile.path, overwrite=overwrite)
            load_profile(profile.path)
        except (OSError, ProfileError) as exc:
            self.say(f"not saved: {exc}", error=True)
            return
        self.reload(profile.path)
        self.say(f"saved {short_path(profile.path)}")

    def action_apply(self) -> None:
        profile = self._valid()
        if profile is None:
            return
        question = self.apply_question(profile) if self.apply_question else ""
        if not question:
            self._apply(profile)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(profile)
            else:
                self.say(f"not applied: {profile.name}; the offsets stay as they were")

        self.app.push_screen(ConfirmScreen(question), answered)

    def _apply(self, profile: Profile) -> None:
        result = self.apply_live(profile)
        if result.matched:
            self.live_profile = profile.name
            self._title()
            listing = self.query_one(OptionList)
            for key, entry in self.entries.items():
                listing.replace_option_prompt(key, self._prompt(entry))
        self.say(result.describe(profile.name), error=not result.matched)
