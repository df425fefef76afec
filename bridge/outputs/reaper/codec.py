"""Pure helpers for REAPER's OSC surface: bank arithmetic, addresses and message bytes.

Facts from REAPER's Default.ReaperOSC and csurf_osc.cpp (reaper-sdk): `/track/N/...` is relative
to the device's bank (track = bank start + N), `/device/track/bank/select i` picks bank i (1-based),
`/device/track/count i` sets the bank size (DEVICE_TRACK_COUNT), `/track/N/volume/db f` sets dB,
`/track/N/volume/touch b` takes 1/0, `/track/N/auto<mode> t` triggers an automation mode.
REAPER does not echo a message back to the device that sent it (its "antifeedback"), but sends the
other forms (`/track/N/volume/str`), and `/track/N/number/str` whenever a bank slot changes track.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.outputs.osc import encode_message

AUTOMATION_MODES = ("trim", "read", "touch", "latch", "write")
"""Track automation modes REAPER's OSC surface can set (`/track/N/auto<mode>`)."""

TRACK_RE = re.compile(r"^/track/(\d+)/(volume/db|volume/str|name|number/str)$")
_PARAMS = {"volume/db": "db", "volume/str": "db_str", "name": "name", "number/str": "number"}
_DB_RE = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)|[-+]?inf)\s*(?:dB)?\s*$", re.IGNORECASE)


def bank_of(track: int, bank_size: int) -> tuple[int, int]:
    """(bank index from 0, bank-relative N from 1) for an absolute 1-based track number."""
    if track < 1:
        raise ValueError(f"REAPER tracks are numbered from 1, got {track}")
    if bank_size < 1:
        raise ValueError(f"bank size must be >= 1, got {bank_size}")
    return (track - 1) // bank_size, (track - 1) % bank_size + 1


def track_of(bank: int, n: int, bank_size: int) -> int:
    """Absolute track for bank-relative N in bank `bank` (0-based)."""
    return bank * bank_size + n


def volume_db(n: int, db: float) -> bytes:
    """/track/N/volume/db ,f dB."""
    return encode_message(f"/track/{n}/volume/db", float(db))


def volume_touch(n: int, touched: bool) -> bytes:
    """/track/N/volume/touch ,f 1.0 (touched) or 0.0 (released)."""
    return encode_message(f"/track/{n}/volume/touch", 1.0 if touched else 0.0)


def automation_mode(n: int, mode: str) -> bytes:
    """/track/N/auto<mode> ,f 1.0 (a trigger)."""
    if mode not in AUTOMATION_MODES:
        raise ValueError(f"automation mode must be one of {list(AUTOMATION_MODES)}, got {mode!r}")
    return encode_message(f"/track/{n}/auto{mode}", 1.0)


def bank_select(bank: int) -> bytes:
    """/device/track/bank/select ,i bank + 1 (REAPER numbers banks from 1)."""
    return encode_message("/device/track/bank/select", bank + 1)


def track_count(size: int) -> bytes:
    """/device/track/count ,i size: how many tracks one bank holds for this device."""
    return encode_message("/device/track/count", size)


def parse_track_address(address: str) -> tuple[int, str] | None:
    """(bank-relative N, 'db' | 'db_str' | 'name' | 'number') for feedback we read, else None."""
    match = TRACK_RE.match(address)
    if match is None:
        return None
    n = int(match.group(1))
    if n < 1:
        return None  # /track/0 is the master
    return n, _PARAMS[match.group(2)]


def parse_db_string(text: str) -> float | None:
    """dB from REAPER's volume string ('-12.34dB', '+0.00dB', '-inf'), None if unreadable."""
    match = _DB_RE.match(text)
    return None if match is None else float(match.group(1))


@dataclass(frozen=True)
class Feedback:
    """One piece of REAPER's feedback, placed on an absolute track."""

    track: int
    kind: str
    """'db' (a level) or 'name'."""
    value: float | str


NAME_WAIT_S = 0.05
"""A name not followed by a track number within this long is a rename of the slot's track."""


class FeedbackPlacer:
    """Places REAPER's bank-relative feedback on absolute tracks.

    When slot N starts showing another track REAPER sends the slot's name, then
    `/track/N/number/str`, then its levels. That number, not the bank we last asked for, says where
    feedback belongs: REAPER clamps banks at the project's end, and packets cross our switches.
    """

    def __init__(self, bank_size: int) -> None:
        self.bank_size = bank_size
        self.start: int | None = None
        """Absolute track before slot 1 in what REAPER reports (None until it says)."""
        self._names: dict[int, tuple[str, float]] = {}

    def _track(self, n: int, requested_bank: int) -> int:
        start = requested_bank * self.bank_size if self.start is None else self.start
        return start + n

    def feed(
        self, address: str, args: list[object], now: float, requested_bank: int
    ) -> list[Feedback]:
        """What one incoming message says about which track (nothing for what we do not use)."""
        parsed = parse_track_address(address)
        value = args[0] if args else None
        if parsed is None or value is None or isinstance(value, bool):
            return []
        n, param = parsed
        if param == "name":
            self._names[n] = (str(value), now)
            return []
        if param == "number":
            text = str(value).strip()
            if not (text.isdigit() and int(text) >= n):
                return []
            self.start = int(text) - n
            name = self._names.pop(n, None)
            return (
                [] if name is None else [Feedback(self._track(n, requested_bank), "name", name[0])]
            )
        if param == "db_str":
            db = parse_db_string(value) if isinstance(value, str) else None
        else:
            db = float(value) if isinstance(value, float | int) else None
        if db is None or db != db:  # NaN
            return []
        return [Feedback(self._track(n, requested_bank), "db", db)]

    def due_names(self, now: float, requested_bank: int) -> list[Feedback]:
        """Names that waited long enough without a track number: renames in place."""
        due = [n for n, (_, t) in self._names.items() if now - t > NAME_WAIT_S]
        return [
            Feedback(self._track(n, requested_bank), "name", self._names.pop(n)[0]) for n in due
        ]
