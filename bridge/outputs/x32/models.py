"""Address tables of the Behringer/Midas OSC consoles we drive: X32/M32 and X-Air/MR.

Both families share the fader law, the 1024 steps, /xinfo and /xremote; they differ in port,
channel count and the main fader's address (PROTOCOLS.md, "Behringer X32 / Midas M32").
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config import X32_PORT, XAIR_PORT


@dataclass(frozen=True)
class ConsoleModel:
    """One console family: how its channel faders, names and mutes are addressed."""

    key: str
    """Profile output kind: 'x32' or 'xair'."""
    label: str
    """Shown in status lines and errors."""
    port: int
    """UDP port the console listens on."""
    channels: int
    """Input channels with a fader (/ch/01 .. /ch/NN)."""
    main_fader: str
    """Address of the main stereo fader."""
    xinfo_model: str
    """Model string the console reports in its /xinfo answer (used by the virtual console)."""

    def check_channel(self, ch: int) -> None:
        if not 1 <= ch <= self.channels:
            raise ValueError(f"{self.label} channel must be 1..{self.channels}, got {ch}")

    def fader_address(self, ch: int) -> str:
        """'/ch/01/mix/fader' for channel 1 (1-based)."""
        self.check_channel(ch)
        return f"/ch/{ch:02d}/mix/fader"

    def name_address(self, ch: int) -> str:
        """'/ch/01/config/name' for channel 1."""
        self.check_channel(ch)
        return f"/ch/{ch:02d}/config/name"

    def on_address(self, ch: int) -> str:
        """'/ch/01/mix/on' for channel 1 (1 = on, i.e. unmuted)."""
        self.check_channel(ch)
        return f"/ch/{ch:02d}/mix/on"


X32 = ConsoleModel(
    key="x32",
    label="X32",
    port=X32_PORT,
    channels=32,
    main_fader="/main/st/mix/fader",
    xinfo_model="X32",
)
"""Behringer X32 and Midas M32 (same protocol)."""

XAIR = ConsoleModel(
    key="xair",
    label="X-Air",
    port=XAIR_PORT,
    channels=16,
    main_fader="/lr/mix/fader",
    xinfo_model="XR18",
)
"""Behringer X-Air XR18/XR16/XR12 and Midas MR18/MR12 (16 channel faders at most)."""

MODELS = {m.key: m for m in (X32, XAIR)}


def console_model(key: str) -> ConsoleModel:
    """The model for a profile output kind; ValueError naming the allowed ones."""
    try:
        return MODELS[key]
    except KeyError:
        raise ValueError(f"unknown console model {key!r}; allowed: {sorted(MODELS)}") from None
