"""What the profiles screen edits: the profiles found on disk, and an editable draft of one that is
validated by `parse_profile` after every change (so its errors are the CLI's errors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import REPO_ROOT
from bridge.profile_writer import profile_to_data
from bridge.profiles import Profile, ProfileError, discover, parse_profile

COLUMNS: tuple[tuple[str, str], ...] = (
    ("capture", "cap"),
    ("strip", "strip"),
    ("name", "name"),
    ("floor_db", "floor"),
    ("ceiling_db", "ceil"),
    ("offset_db", "offset"),
    ("protected", "prot"),
    ("gate", "gate"),
)
"""The channel-map table: (ChannelMap field, column heading)."""
SWITCHES = ("protected", "gate")
"""The true/false columns: editing one toggles it."""

_TRUE = {"yes", "y", "true", "on", "1"}
_FALSE = {"no", "n", "false", "off", "0", ""}


@dataclass(frozen=True)
class ProfileEntry:
    """One .toml file in a profile folder: loaded, or the error that stopped it."""

    path: Path
    profile: Profile | None
    error: ProfileError | None


def scan(dirs: list[Path]) -> list[tuple[Path, list[ProfileEntry]]]:
    """Every profile file per folder, good and bad together, in file-name order."""
    out = []
    for d in dirs:
        good, bad = discover([d])
        entries = [ProfileEntry(p.path, p, None) for p in good]
        entries += [ProfileEntry(e.path, None, e) for e in bad]
        entries.sort(key=lambda e: e.path.name)
        out.append((d, entries))
    return out


def short_path(path: Path) -> str:
    """A path as the engineer reads it: relative to the install for shipped profiles, `~/...`
    under the home folder, else in full."""
    path = path.expanduser().absolute()
    if path.is_relative_to(REPO_ROOT):
        return str(path.relative_to(REPO_ROOT))
    home = Path.home()
    if path.is_relative_to(home):
        return str(Path("~") / path.relative_to(home))
    return str(path)


def error_detail(error: ProfileError) -> str:
    """'field: message', the part of a ProfileError after its file name."""
    text = str(error)
    prefix = f"{error.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def check_line(
    path: Path, profile: Profile | None, error: ProfileError | None, shown: str | None = None
) -> str:
    """The line `ailive profiles check` prints for this file (`shown` replaces the path)."""
    where = str(path) if shown is None else shown
    if error is not None:
        return f"BAD  {where}: {error_detail(error)}"
    assert profile is not None
    return f"ok   {where}: {profile.name}, {profile.output}, {len(profile.channels)} channels"


def parse_cell(field: str, text: str) -> Any:
    """What the engineer typed, as a TOML value; anything unreadable stays text, so that
    validation names the field and what is allowed."""
    text = text.strip()
    if field == "name":
        return text
    if field in SWITCHES:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def cell_text(value: Any, field: str = "") -> str:
    """A channel-map value as the table shows it (the activity gate, on by default, shows only
    when it is off)."""
    if isinstance(value, bool):
        if field == "gate":
            return "" if value else "off"
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:+.1f}" if value else "0.0"
    return str(value)


class Draft:
    """An editable copy of a profile: its channel rows as plain data, validated on every edit.

    `profile` is the validated result (None while the draft is invalid, with `error` saying why).
    """

    def __init__(self, profile: Profile) -> None:
        data = profile_to_data(profile)
        self.rows: list[dict[str, Any]] = data.pop("channels")
        self.top: dict[str, Any] = data
        self.path = profile.path
        self.profile: Profile | None = profile
        self.error: ProfileError | None = None
        self.edited = False

    @property
    def name(self) -> str:
        return str(self.top.get("name", self.path.stem))

    def data(self) -> dict[str, Any]:
        """The draft as profile data (what a TOML file would hold)."""
        return {**self.top, "channels": [dict(row) for row in self.rows]}

    def set_cell(self, row: int, field: str, value: Any) -> None:
        self.rows[row][field] = value
        self.edited = True
        self.validate()

    def validate(self) -> None:
        try:
            self.profile = parse_profile(self.data(), self.path)
            self.error = None
        except ProfileError as exc:
            self.profile = None
            self.error = exc
