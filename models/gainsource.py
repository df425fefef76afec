"""The interface behind every gain predictor (the network, the baselines) and a registry by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


class InputAudioError(ValueError):
    """Audio that a gain source refuses: wrong shape, rate or non-finite samples."""


@runtime_checkable
class GainSource(Protocol):
    """Streams hops of multichannel audio and predicts a gain per channel for the NEXT hop.

    Zero latency: the gains returned from `step(hop_t)` are applied to hop t+1, never to hop t.
    """

    name: str

    def reset(self, n_channels: int, sample_rate: int) -> None:
        """Forget all state; the next `step` gets `n_channels` rows at `sample_rate`."""
        ...

    def step(self, hop: np.ndarray) -> np.ndarray:
        """hop: (channels, hop_samples) float32 -> gains in dB, shape (channels,)."""
        ...


def tell_roles(source: GainSource, roles: Sequence[str | None] | None) -> bool:
    """Gives a source that reads channel roles (a network trained with them: models.inference
    `set_roles`) each channel's role (models.alm.config.ROLES; None: unknown); the others do
    not use them. True when the source's mix depends on them."""
    set_roles = getattr(source, "set_roles", None)
    if set_roles is None:
        return False
    set_roles(roles)
    return bool(getattr(source, "uses_roles", True))


def check_hop(hop: np.ndarray, n_channels: int) -> None:
    """Clear errors for audio a gain source cannot use."""
    check_shape(hop, n_channels)
    if not np.isfinite(hop).all():
        raise InputAudioError("audio contains NaN or Inf samples")


def check_shape(hop: np.ndarray, n_channels: int) -> None:
    """`check_hop` less the scan for NaN/Inf, for a gain source that finds them on its way
    (a sum over the samples is not finite) and then calls `check_hop`."""
    if hop.ndim != 2:
        raise InputAudioError(f"expected (channels, samples) audio, got shape {hop.shape}")
    if hop.shape[0] != n_channels:
        raise InputAudioError(
            f"channel-count mismatch: the gain source was set up for {n_channels} channels, "
            f"got {hop.shape[0]}"
        )


class UnityGains:
    """RAW baseline: every channel at 0 dB (the plain sum)."""

    name = "raw"

    def reset(self, n_channels: int, sample_rate: int) -> None:
        self._n = n_channels

    def step(self, hop: np.ndarray) -> np.ndarray:
        check_hop(hop, self._n)
        return np.zeros(self._n, dtype=np.float64)


def _autofader() -> GainSource:
    from models.baselines.autofader import LoudnessAutoFader

    return LoudnessAutoFader()


def _gainsharing() -> GainSource:
    from models.baselines.gainsharing import GainSharingAutomixer

    return GainSharingAutomixer()


def _untrained(kind: str, mode: str) -> Callable[[], GainSource]:
    """A network with random weights: its compute is real, its gains are not (benchmarks)."""

    def make() -> GainSource:
        from models.inference import untrained_gain_source

        return untrained_gain_source(kind, mode)

    return make


CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
"""The shipped checkpoints: NAME.pt + NAME.json (models.checkpoint)."""
SHIPPED = ("alm-mr", "alm-sr", "dmc-og", "dmc-b-0l")


def checkpoint_path(name: str) -> Path:
    return CHECKPOINT_DIR / f"{name}.pt"


def _shipped(name: str) -> Callable[[], GainSource]:
    """A trained network from models/checkpoints/, run by the streaming runner."""

    def make() -> GainSource:
        path = checkpoint_path(name)
        if not path.is_file():
            raise FileNotFoundError(
                f"checkpoint {path} not found: train it with `ailive train --config "
                f"models/train/configs/{name}.toml` and copy runs/{name}/{name}.pt + .json there"
            )
        from models.inference import StreamingMixer

        return StreamingMixer.from_checkpoint(path, name)

    return make


def _network(path: Path, name: str) -> GainSource:
    """A checkpoint run by the streaming runner, with the role levels a learned model carries
    (models.learn.levels) on top."""
    from models.checkpoint import read_sidecar
    from models.inference import StreamingMixer

    mixer = StreamingMixer.from_checkpoint(path, name)
    training = read_sidecar(path).get("training", {})
    levels = training.get("role_levels_db") or {}
    if not levels:
        return mixer
    from models.learn.levels import LevelledMixer

    strength = training.get("role_levels_strength", 1.0)
    try:
        table = {str(k): float(v) for k, v in levels.items()}
        return LevelledMixer(mixer, table, float(strength))
    except (AttributeError, TypeError, ValueError):
        raise ValueError(
            f"{path.with_suffix('.json')}: its role levels are not a table of dB values with a "
            f"strength within 0..1 (role_levels_strength {strength!r}); learn the model again"
        ) from None


GAIN_SOURCES: dict[str, Callable[[], GainSource]] = {
    **{name: _shipped(name) for name in SHIPPED},
    "alm-mr-untrained": _untrained("alm", "mr"),
    "alm-sr-untrained": _untrained("alm", "sr"),
    "autofader": _autofader,
    "dmc-untrained": _untrained("dmc", "sr"),
    "gainsharing": _gainsharing,
    "raw": UnityGains,
}
"""Gain sources by name; `default_gain_source()` picks the shipped model when there is one."""


def default_gain_source_name() -> str:
    """The demo's choice: the trained ALM-MR when its checkpoint ships, else the auto-fader."""
    return "alm-mr" if checkpoint_path("alm-mr").is_file() else "autofader"


def is_checkpoint_name(name: str) -> bool:
    """A gain source named by a checkpoint file (PATH.pt with its PATH.json beside it)."""
    path = Path(name)
    return path.suffix == ".pt" and path.is_file() and path.with_suffix(".json").is_file()


def learned_checkpoint(name: str) -> Path | None:
    """A model learned from the user's shows (`ailive learn --name NAME`), by name."""
    from models.learn.userdata import find_learned

    return find_learned(name)


def is_gain_source(name: str) -> bool:
    """A registered name, a checkpoint file (an experiment evaluated beside the shipped) or a
    learned model's name."""
    return name in GAIN_SOURCES or is_checkpoint_name(name) or learned_checkpoint(name) is not None


def make_gain_source(name: str | None = None) -> GainSource:
    """A gain source by registered name or by checkpoint path (PATH.pt, run as a network)."""
    name = name or default_gain_source_name()
    if name not in GAIN_SOURCES and is_checkpoint_name(name):
        return _network(Path(name), name)
    learned = None if name in GAIN_SOURCES else learned_checkpoint(name)
    if learned is not None:
        return _network(learned, name)
    try:
        factory = GAIN_SOURCES[name]
    except KeyError:
        raise ValueError(
            f"unknown gain source {name!r}; choose one of: {', '.join(sorted(GAIN_SOURCES))}, "
            "a learned model (`ailive models`) or PATH.pt"
        ) from None
    return factory()
