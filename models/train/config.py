"""Training configuration: one TOML file per run (models/train/configs/*.toml), checked on load."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

KINDS = ("alm", "dmc")
MODES = ("mr", "sr")
LATENCIES = ("zero", "none")


class ConfigError(ValueError):
    """A training config that cannot be used: names the file, the field and what is allowed."""


@dataclass(frozen=True)
class DistillConfig:
    """Distilling the student embedding from mn04 on the training channels (run once, cached).
    With `init` too, the network starts from that checkpoint and its student is replaced by
    this one."""

    out: str = "runs/student-distilled.pt"
    """State file of the distilled student (relative to the repo root or absolute)."""
    window_stride_s: float = 1.0
    """Spacing of the 975 ms windows taken from every training channel."""
    epochs: int = 25
    batch: int = 128
    lr: float = 2e-3
    max_windows: int = 6000


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Steps count optimiser updates (one per sequence chunk)."""

    name: str
    data: str
    """Dataset folder with train/ and validation/ song folders (the data engine's layout)."""
    extra_data: tuple[str, ...] = ()
    """More datasets whose train/ songs join `data`'s (their validation and test songs are not
    used; validation is `data`'s). Their songs are named DATASET-SONG in the run."""
    kind: str = "alm"
    mode: str = "mr"
    bleed: bool = True
    """False: train on each channel's own source without bleed (DMC-OG)."""
    latency: str = "zero"
    """"zero": the gain predicted from frame t is applied to frame t+1; "none": to frame t."""
    model: dict[str, Any] = field(default_factory=dict)
    """ALMConfig / DMCConfig overrides (d_model, heads, gru_hidden, dropout, ...)."""
    embedding: dict[str, Any] = field(default_factory=lambda: {"kind": "student"})
    distill: DistillConfig | None = None
    """When set (student embedding), start from the distilled student, distilling it if needed."""
    init: str = ""
    """A checkpoint (NAME.pt with its sidecar) whose weights, embedding included, start the run
    instead of the distilled student: training continued on other data. "": none."""
    loss: str = "mrstft"
    gain_loss_weight: float = 0.0
    """Weight of an auxiliary L1 (dB) between the predicted gains and the engineer's gains
    (the data engine's target gains at the channel's level); 0: the mix loss alone."""
    gain_loss_centered: bool = False
    """True: that L1 ignores the overall level (each frame's mean difference over channels is
    removed), i.e. it scores the balance between channels only."""
    balance_loss_weight: float = 0.0
    """Weight of a balance term (batches.balance_loss): each channel's level over a chunk under
    the predicted gains minus under the engineer's, the mean over the channels removed, mean
    |dB|; 0: none."""
    steps: int = 1000
    frozen_steps: int = 800
    """Steps with the embedding frozen (cached embeddings); the rest fine-tune it."""
    batch: int = 8
    sequence_s: float = 18.0
    """Excerpt length: a random start, then chunks with the GRU state carried between them."""
    chunk_s: float = 6.0
    lr: float = 1e-3
    finetune_lr: float = 1e-4
    weight_decay: float = 1e-2
    lr_drops: tuple[float, ...] = (0.6, 0.9)
    """Fractions of `steps` at which the learning rate is multiplied by 0.1 (the paper's x0.1)."""
    grad_clip: float = 1.0
    seed: int = 0
    max_songs: int = 0
    """0: every training song."""
    validate_every: int = 100
    checkpoint_every: int = 100
    validation_songs: int = 8
    embedding_dropout: float = 0.0
    """Dropout on the embedding vectors the network reads, in training only: a network that
    cannot lean on any one embedding feature may carry better to sounds it never heard."""
    role_dropout: float = 0.0
    """With a network that reads channel roles (`model.roles = true`): the share of channels
    each training sequence shows as "unknown" (drawn from a generator of their own, so the
    sequences are those of the same run without roles), so it also mixes unnamed channels."""
    embedding_cache: bool = True
    """Keep the songs' frozen embeddings between runs in the runs folder's `embedding-cache/`
    (models.train.features: EmbeddingCache); false: embed every song afresh."""

    def __post_init__(self) -> None:
        _choice("kind", self.kind, KINDS)
        _choice("mode", self.mode, MODES)
        _choice("latency", self.latency, LATENCIES)
        if self.steps < 1 or not 0 <= self.frozen_steps <= self.steps:
            raise ValueError(f"need steps >= 1 and 0 <= frozen_steps <= steps, got {self.steps}, "
                             f"{self.frozen_steps}")  # fmt: skip
        if self.batch < 1 or self.chunk_s <= 0 or self.sequence_s < self.chunk_s:
            raise ValueError("need batch >= 1 and 0 < chunk_s <= sequence_s")
        if not 0.0 <= self.role_dropout <= 1.0:
            raise ValueError(f"need 0 <= role_dropout <= 1, got {self.role_dropout}")
        if self.loss == "none" and self.gain_loss_weight <= 0 and self.balance_loss_weight <= 0:
            raise ValueError('loss "none" needs gain_loss_weight or balance_loss_weight above 0')

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def resolve(self, path: str, base: Path) -> Path:
        """A path from the config: absolute, or relative to `base` (the repo root)."""
        p = Path(path)
        return p if p.is_absolute() else base / p


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from a parsed TOML/JSON table; unknown keys are errors."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    data = dict(data)
    if "distill" in data and data["distill"] is not None:
        dknown = {f.name for f in fields(DistillConfig)}
        bad = sorted(set(data["distill"]) - dknown)
        if bad:
            raise ValueError(f"unknown [distill] field(s) {', '.join(bad)}")
        data["distill"] = DistillConfig(**data["distill"])
    if "extra_data" in data:
        data["extra_data"] = tuple(str(v) for v in data["extra_data"])
    if "lr_drops" in data:
        data["lr_drops"] = tuple(float(v) for v in data["lr_drops"])
    try:
        return TrainConfig(**data)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def load_config(path: Path) -> TrainConfig:
    """Reads a TOML training config; ConfigError names the file and the problem."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return config_from_dict(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
