"""Channel roles as a network reads them: what the engineer says is on each channel.

A network trained with `roles = true` (models.alm.config.ALMConfig) adds a learned vector per
role to each channel's embeddings; "unknown" is a channel nobody named, and training drops
roles at random (`role_dropout`) so it also mixes channels that have none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from models.alm.config import ROLES

# Instrument words (MedleyDB labels, console channel names, file names) -> mixing role; the first
# match wins.
ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kick", ("kick", "bass drum", "bd")),
    ("snare", ("snare", "sn")),
    ("drums", ("drum", "hat", "hh", "cymbal", "overhead", "oh", "tom", "ride", "percussion",
               "tambourine", "shaker", "conga", "bongo", "timpani", "clap")),
    ("bass", ("bass",)),
    ("lead", ("singer", "vocal", "vox", "voice", "rapper", "speaker", "choir", "vocalists")),
    ("rhythm", ("guitar", "gtr", "banjo", "mandolin", "ukulele", "lap steel")),
    ("keys", ("piano", "organ", "keys", "keyboard", "rhodes", "wurli", "harpsichord",
              "accordion", "clav")),
    ("pad", ("synth", "pad", "sampler", "fx", "processed")),
    ("strings", ("violin", "viola", "cello", "string")),
    ("brass", ("trumpet", "trombone", "horn", "brass", "tuba")),
    ("solo", ("sax", "flute", "clarinet", "harmonica", "oboe", "bassoon")),
)  # fmt: skip


def _words(label: str) -> str:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", label)  # SnareTop -> Snare Top
    return " " + " ".join(re.sub(r"[^a-z]+", " ", spaced.lower()).split()) + " "


def role_from_words(label: str) -> str | None:
    """The mixing role an instrument label or file name names (ROLE_WORDS), or None."""
    text = _words(label)
    for role, keys in ROLE_WORDS:
        if any(f" {k}" in text for k in keys):
            return role
    return None


def guess_role(name: str) -> str | None:
    """The role a console channel's name suggests, or None (unknown): the words "lead" and
    "solo" first (a channel the engineer calls "Lead flute" carries the tune, "Sax solo" the
    solos), then the instrument words. "Ch 5" -> None."""
    text = _words(name)
    for role in ("lead", "solo"):
        if f" {role} " in text:
            return role
    return role_from_words(name)


def role_index(role: str | None) -> int:
    """The index of a role in ROLES; None or "" -> "unknown"; ValueError for any other word."""
    if not role:
        return 0
    key = role.strip().lower()
    if key not in ROLES:
        raise ValueError(f"unknown channel role {role!r}: use one of {', '.join(ROLES)}")
    return ROLES.index(key)


def role_indices(roles: Sequence[str | None]) -> torch.Tensor:
    """(channels,) long: each channel's role index."""
    return torch.tensor([role_index(r) for r in roles], dtype=torch.long)
