"""The interface every output implements: the engine hands it gains once per hop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

HumanMoveCallback = Callable[[int, float], None]
"""Called as (channel index, dB) when a person moves a fader on the output's side."""


@runtime_checkable
class GainSink(Protocol):
    """An output. `send` is called from the engine's worker thread and must not block."""

    name: str

    def send(self, gains_db: np.ndarray, t: float) -> None:
        """Gains in dB for every channel (index = capture channel), valid from time `t` (s)."""
        ...

    def flush(self, timeout_s: float = 1.0) -> bool:
        """Block until what was sent has landed (end of a show); True when it has."""
        ...

    def status(self) -> str:
        """One line for the TUI, e.g. 'connected 127.0.0.1:10023, /xremote ok'."""
        ...

    def close(self) -> None: ...
