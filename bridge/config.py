"""Defaults in one place: audio rates, hop size, console ports, safety limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 48_000
"""Consoles' USB multitrack interfaces run at 48 kHz; everything internal is at this rate."""

HOP_SECONDS = 0.05
"""F2 frame: one gain update per 50 ms hop (the paper's multi-rate F2)."""

HOP_SAMPLES = int(SAMPLE_RATE * HOP_SECONDS)

TORCH_THREADS = 1
"""Torch threads for the live path: a second intra-op thread made the 50 ms hop slower, not
faster (ALM-MR at 8 channels, measured here: p50 7.7 -> 2.8 ms, p99 62 -> 9.5 ms with one)."""

X32_PORT = 10023
XAIR_PORT = 10024
VIRTUAL_CONSOLE_HOST = "127.0.0.1"
VIRTUAL_CONSOLE_PORT = 10023
XREMOTE_RENEW_S = 3.0
"""/xremote lasts about 10 s on the console. Renewed every 3 s, two renewals in a row may be lost
(UDP) before the pushes stop; at 9 s one lost renewal left the client blind to a person's moves
for up to 8 s, and the model went on sending its level to a fader in someone's hand."""

REPO_ROOT = Path(__file__).resolve().parent.parent
MAPPINGS_DIR = REPO_ROOT / "mappings"
USER_MAPPINGS_DIR = Path.home() / ".config" / "ailive" / "mappings"
DEMO_SONG_DIR = REPO_ROOT / "models" / "demo" / "song"
CHECKPOINTS_DIR = REPO_ROOT / "models" / "checkpoints"


@dataclass(frozen=True)
class SafetyDefaults:
    """Per-channel limits applied between the gain source and every output."""

    floor_db: float = -40.0
    """Lowest level the model may set: lower is a mute, and the model never mutes."""
    ceiling_db: float = 6.0
    """Highest level the model may set (faders can go to +10 dB; leave headroom)."""
    slew_db_per_s: float = 24.0
    """Fastest the model may move a fader; a person's move is not limited."""


SAFETY = SafetyDefaults()
