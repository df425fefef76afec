"""Channel lists as engineers type them: '1-8,11,13-14'."""

from __future__ import annotations


def parse_channels(spec: str) -> list[int]:
    """'1-8,11,13-14' -> 0-based indices [0..7, 10, 12, 13]; ValueError with the bad part."""
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                out.extend(range(lo - 1, hi))
            else:
                out.append(int(part) - 1)
        except ValueError:
            raise ValueError(f"bad channel range {part!r}: use e.g. 1-32 or 1-8,11") from None
    if not out or min(out) < 0:
        raise ValueError(f"bad channel list {spec!r}: channels are numbered from 1")
    if len(set(out)) != len(out):
        raise ValueError(f"channel list {spec!r} names a channel twice")
    return out
