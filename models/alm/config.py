"""Constructor arguments, frame geometry and the output parameterisation of the mixer networks.

Output parameterisation (documented choice): the MLP's last unit z is the network's output;
`GainRange.to_db` maps sigmoid(z) linearly onto [min_db, max_db] (default -40 to +12 dB, the range
a console fader can usefully cover; the safety stage then applies the show's own floor/ceiling).
Bounded and smooth in dB, it cannot mute or explode, and its initial bias puts an untrained
network at 0 dB. The paper's ReLU-linear gain is available as output="relu_linear" (relu(z) is
the linear gain, clamped to the same dB range when converted).

Two measured additions (models.alm.output, README "Results"), both part of the network's output
and so identical in training, evaluation and live:
- base="autofader": z is a bounded correction, correction_db * tanh(z), on top of the causal
  loudness auto-fader's gain (models.baselines.autofader, streamed in 50 ms blocks), so an
  untrained network is the auto-fader;
- max_step_db > 0: a soft slew limit, each 50 ms frame moves the gain by
  max_step_db * tanh((wanted - previous) / max_step_db), never more than max_step_db.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

SAMPLE_RATE = 48_000
"""Every network reads the console rate."""
MEL_HOP = 480
"""10 ms: the causal log-mel grid (models.embedding.frontend.CausalLogMel)."""
WINDOW_FRAMES = 96
"""Mel frames per F1 window: 95 hops + one 25 ms window = 975 ms exactly."""
WINDOW_SAMPLES = 46_800
"""F1 = 975 ms at 48 kHz."""
MR_FRAME = 2_400
"""F2 = 50 ms, the engine's hop."""
MR_REFRESH = 6
"""ALM-MR refreshes each channel's embedding every 6 F2 frames (300 ms)."""
RMS_FLOOR_DB = -100.0
OUTPUTS = ("bounded_db", "relu_linear")
ROLES = ("unknown", "lead", "kick", "snare", "drums", "bass", "rhythm", "keys", "pad", "strings",
         "brass", "solo", "backing", "other")  # fmt: skip
"""The channel roles a network with `roles = true` can be told (what the engineer says is on the
channel: models.alm.roles); index 0, "unknown", is a channel nobody named."""
BASES = ("none", "autofader")


@dataclass(frozen=True)
class Geometry:
    """How a model cuts time: F2 frames of `frame` samples, embeddings every `refresh` frames.

    Channel c's embedding is recomputed at F2 frames t with (t - phase_c) % refresh == 0, from the
    975 ms window ending with frame t (quantised down to the 10 ms mel grid). Sync refresh: every
    phase is 0 (the paper). Staggered: phase_c = c % refresh, so a sixth of the channels refresh
    on each 50 ms hop and no hop carries every channel's embedding at once.
    """

    frame: int
    refresh: int
    staggered: bool

    def default_phase(self, n_channels: int) -> torch.Tensor:
        """(channels,) long: the refresh phase of each channel."""
        c = torch.arange(n_channels)
        return c % self.refresh if self.staggered else torch.zeros_like(c)

    def window_end(self, frame_index: int) -> int:
        """Index of the last mel frame of the window ending with F2 frame `frame_index`."""
        return (frame_index + 1) * self.frame // MEL_HOP - 1


def geometry_for(mode: str, refresh: str = "staggered") -> Geometry:
    """mode "mr": F1 975 ms every 300 ms, F2 50 ms; "sr": F1 = F2 = 975 ms, non-overlapping."""
    if refresh not in ("staggered", "sync"):
        raise ValueError(f"refresh must be 'staggered' or 'sync', got {refresh!r}")
    if mode == "mr":
        return Geometry(MR_FRAME, MR_REFRESH, refresh == "staggered")
    if mode == "sr":
        return Geometry(WINDOW_SAMPLES, 1, False)
    raise ValueError(f"mode must be 'mr' or 'sr', got {mode!r}")


@dataclass(frozen=True)
class GainRange:
    """Output parameterisation and its physical limits (dB)."""

    output: str = "bounded_db"
    min_db: float = -40.0
    max_db: float = 12.0
    base: str = "none"
    """"autofader": the output corrects the loudness auto-fader's gain (bounded_db only)."""
    correction_db: float = 12.0
    """With base "autofader": the correction is correction_db * tanh(z)."""
    max_step_db: float = 0.0
    """> 0: soft slew limit per F2 frame (models.alm.output.slew); 0: none."""

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if not self.min_db < 0.0 < self.max_db:
            raise ValueError(f"need min_db < 0 < max_db, got {self.min_db}, {self.max_db}")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {self.base!r}")
        if self.base != "none" and self.output != "bounded_db":
            raise ValueError("a base level needs output 'bounded_db'")
        if self.correction_db <= 0 or self.max_step_db < 0:
            raise ValueError("need correction_db > 0 and max_step_db >= 0")

    @property
    def has_base(self) -> bool:
        return self.base != "none"

    def initial_bias(self) -> float:
        """Bias of the last unit that makes an untrained network output 0 dB (with a base: no
        correction)."""
        if self.has_base:
            return 0.0
        if self.output == "relu_linear":
            return 1.0
        u = -self.min_db / (self.max_db - self.min_db)
        return math.log(u / (1.0 - u))

    def to_db(self, z: torch.Tensor, base_db: torch.Tensor | None = None) -> torch.Tensor:
        """The one denormalising function: the network's output logit -> gain in dB, in limits
        (before any slew limit: models.alm.output.output_db applies that).

        base_db: the auto-fader's gain for the same frames (needed when `has_base`).
        Computed in z's dtype: the streaming runner passes float64 so the sigmoid and the offset
        do not round the result to float32's ~4e-6 dB steps near 0 dB.
        """
        if self.has_base:
            if base_db is None:
                raise ValueError("this output corrects a base level: pass base_db")
            wanted = base_db.to(z.dtype) + self.correction_db * torch.tanh(z)
            return wanted.clamp(self.min_db, self.max_db)
        if self.output == "bounded_db":
            return self.min_db + torch.sigmoid(z) * (self.max_db - self.min_db)
        floor = 10.0 ** (self.min_db / 20.0)
        return (20.0 * torch.log10(torch.clamp(z, min=floor))).clamp(self.min_db, self.max_db)

    def to_linear(self, z: torch.Tensor, base_db: torch.Tensor | None = None) -> torch.Tensor:
        """The output logit -> linear amplitude gain (differentiable), before any slew limit."""
        return torch.pow(10.0, self.to_db(z, base_db) / 20.0)


@dataclass(frozen=True)
class ALMConfig:
    """AiLive Mixer network (DESIGN.md section 1): sizes, rates, output range."""

    mode: str = "mr"
    refresh: str = "staggered"
    d_model: int = 128
    heads: int = 2
    ff_dim: int = 256
    gru_hidden: int = 128
    dropout: float = 0.1
    gain: GainRange = GainRange()
    roles: bool = False
    """True: each channel's role (ROLES) adds a learned vector to its embeddings, zero for
    "unknown" at the start (models.alm.network.ALMNet.role_table)."""

    @property
    def geometry(self) -> Geometry:
        return geometry_for(self.mode, self.refresh)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ALMConfig:
        data = dict(data)
        data["gain"] = GainRange(**data.get("gain", {}))
        return cls(**data)


@dataclass(frozen=True)
class DMCConfig:
    """DMC baseline (Steinmetz et al. 2021): per-track embedding, mean context, MLP -> gain."""

    mode: str = "sr"
    hidden: int = 256
    dropout: float = 0.1
    gain: GainRange = GainRange()

    @property
    def geometry(self) -> Geometry:
        return geometry_for(self.mode, "sync")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DMCConfig:
        data = dict(data)
        data["gain"] = GainRange(**data.get("gain", {}))
        return cls(**data)
