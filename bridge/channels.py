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


def parse_roles(spec: str, channels: list[int], names: list[str],
                known: list[str] | None = None) -> list[str | None]:  # fmt: skip
    """--roles as engineers type it -> each show channel's role (None: unknown), for a model
    that reads channel roles (models.alm.roles).

    spec: "auto" (the roles `known` from the song, else guessed from the channel names: "Kick",
    "Lead vox", "Sax solo"), "none" (every channel unknown), or channel=role pairs over the
    automatic ones, e.g. "1=kick,2=snare,5-6=rhythm,9=none" (channel numbers as in --channels,
    from 1). `channels`: the show's capture channels, 0-based. ValueError with the bad part.
    """
    from models.alm.config import ROLES
    from models.alm.roles import guess_role, role_index

    spec = spec.strip()
    if spec.lower() == "none":
        return [None] * len(channels)
    told = list(known) if known else [None] * len(names)
    # a song's own role where it names one ("other" says nothing), else the name's guess
    roles: list[str | None] = [k if k in ROLES and k != "other" else guess_role(n)
                               for k, n in zip(told, names, strict=True)]  # fmt: skip
    if spec.lower() in ("", "auto"):
        return roles
    where = {c: i for i, c in enumerate(channels)}
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(
                f"bad role {part.strip()!r}: use channel=role, e.g. 1=kick or 5-6=rhythm"
            )
        chans, role = (x.strip() for x in part.split("=", 1))
        word = None if role.lower() in ("none", "unknown") else role.lower()
        role_index(word)  # ValueError naming the roles
        for c in parse_channels(chans):
            if c not in where:
                raise ValueError(f"--roles names channel {c + 1}, which this show does not capture")
            roles[where[c]] = word
    return roles
