"""Render a song's parts from a sound pool: the drawn soundfont and kit, then the augmentations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.data import augment
from models.data.augment import Augment
from models.data.kits import KitPlayer, sample_kit
from models.data.pools import SoundChoice, SoundSource, check_pool, draw_sounds, pool_sources
from models.data.render import SAMPLE_RATE, renderer
from models.data.sampler import render_sampled


@dataclass
class PoolRender:
    audio: dict[str, np.ndarray]
    """Part name -> dry mono float32, augmented."""
    sources: list[dict[str, Any]]
    """song.json `sources`: what played each part, its package and licence."""
    augments: dict[str, dict[str, Any]]


def _entry(part: Any, src: SoundSource, pool: str, program: str) -> dict[str, Any]:
    return {
        "part": part.name, "soundfont": src.file, "program": program, "licence": src.licence,
        "source": src.key, "kind": src.kind, "package": src.package, "pool": pool,
    }  # fmt: skip


def render_from_pool(
    arr: Any, seed: int, pool: str, n_samples: int, only: tuple[str, ...] | None = None,
    augmentations: bool = True,
) -> PoolRender:  # fmt: skip
    """Draw the sounds of a song (seed streams 50 and 60) and render its parts with them."""
    import pretty_midi as pm

    members = pool_sources(pool, only)
    paths = check_pool(members, pool)
    choice: SoundChoice = draw_sounds(
        members, arr.style, np.random.default_rng([seed, 50]),
        [(p.name, p.instrument, len(p.midi)) for p in arr.parts if not p.is_drum],
    )  # fmt: skip
    roles = [p.role for p in arr.parts]
    augs = (augment.draw_augments(roles, np.random.default_rng([seed, 60])) if augmentations
            else [Augment() for _ in roles])  # fmt: skip
    aug_of = {p.name: a for p, a in zip(arr.parts, augs, strict=True)}
    melodic_path = paths[choice.melodic.key]
    kit = choice.drums
    drums = [p for p in arr.parts if p.is_drum]
    kit_played = kit is not None and kit.kind in ("hydrogen-kit", "sample-kit")
    fluid_parts = {
        p.name: p.midi
        for p in arr.parts
        if not (p.is_drum and kit_played) and p.name not in choice.sampled
    }
    detune = {name: aug_of[name].detune_cents for name in fluid_parts}
    audio: dict[str, np.ndarray] = {}
    if not fluid_parts:
        pass  # every part sampled or on a sample kit: no FluidSynth pass
    elif kit is not None and kit.kind == "sf2-kit":
        rend = renderer(melodic_path, SAMPLE_RATE, (paths[kit.key],))
        audio = rend.render_many(fluid_parts, n_samples, (1, 0, 0), detune)
    else:
        audio = renderer(melodic_path).render_many(fluid_parts, n_samples, None, detune)
    for p in arr.parts:
        if p.name in choice.sampled:
            sset = choice.sampled[p.name]
            x = render_sampled(p.midi, sset.samples[p.instrument], paths[sset.key], n_samples,
                               SAMPLE_RATE, aug_of[p.name].detune_cents)  # fmt: skip
            if not np.any(np.abs(x) > 1e-4):
                raise RuntimeError(f"{p.name} rendered silent from {sset.key}")
            audio[p.name] = x
    if kit is not None and kit_played:
        player = (KitPlayer(paths[kit.key], kit.note_map) if kit.kind == "hydrogen-kit" else
                  KitPlayer(paths[kit.key], instruments=sample_kit(kit.layers)))  # fmt: skip
        for p in drums:
            x = player.render(p.midi, n_samples, aug_of[p.name].detune_cents)
            if not np.any(np.abs(x) > 1e-4):
                raise RuntimeError(f"{p.name} rendered silent on the kit {kit.file}")
            audio[p.name] = x
    sources = []
    for p in arr.parts:
        if p.is_drum:
            src = kit or choice.melodic
            kind = {"hydrogen-kit": "Hydrogen kit", "sf2-kit": "SF2 kit"}
            program = (
                f"GM drum kit {p.program}"
                if kit is None
                else f"{kind.get(kit.kind, 'sample kit')} {kit.file}"
            )
        elif p.name in choice.sampled:
            src = choice.sampled[p.name]
            files = ", ".join(f for f, _ in src.samples[p.instrument])
            program = f"sampled {p.instrument}: {files}"
        else:
            src = choice.melodic
            program = f"GM {p.program} {pm.program_to_instrument_name(p.program)}"
        sources.append(_entry(p, src, pool, program))
    out = {name: augment.apply(audio[name], aug_of[name], SAMPLE_RATE) for name in audio}
    return PoolRender(
        {p.name: out[p.name] for p in arr.parts}, sources,
        {name: a.to_json() for name, a in aug_of.items()},
    )  # fmt: skip


def pool_paths(pool: str, only: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Check that a pool is installed (one-line error naming the packages) before a big run."""
    return check_pool(pool_sources(pool, only), pool)
