"""EfficientAT `mn04_as`: MobileNetV3-Large at width 0.4 on log-mel, pretrained on AudioSet.

Our own module, written against the architecture facts in ../shared/weights/efficientat_mn04;
its parameter names match the published state_dict so it loads with strict=True.
Weights: EfficientAT (Florian Schmid et al., ICASSP 2023), MIT licence; keep
`MN04_LICENCE_NOTE` with any copy or derivative of them (fine-tuned or distilled).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from models.embedding.frontend import CausalLogMel

MN04_FILE = "mn04_as_mAP_432.pt"
MN04_LICENCE_NOTE = (
    "Derived from EfficientAT mn04_as weights (c) 2022 Florian Schmid, MIT licence "
    "(https://github.com/fschmid56/EfficientAT)."
)
EMBED_DIM = 384
N_CLASSES = 527
_WIDTH = 0.4


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNet channel rounding: nearest multiple of `divisor`, never more than 10 % below v."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual block before width scaling."""

    cin: int
    kernel: int
    expanded: int
    cout: int
    se: bool
    hardswish: bool
    stride: int


# MobileNetV3-Large (Howard et al. 2019): input, kernel, expanded, output, SE, HS, stride.
LARGE_BLOCKS = [
    BlockSpec(*row)
    for row in [
        (16, 3, 16, 16, False, False, 1),
        (16, 3, 64, 24, False, False, 2),
        (24, 3, 72, 24, False, False, 1),
        (24, 5, 72, 40, True, False, 2),
        (40, 5, 120, 40, True, False, 1),
        (40, 5, 120, 40, True, False, 1),
        (40, 3, 240, 80, False, True, 2),
        (80, 3, 200, 80, False, True, 1),
        (80, 3, 184, 80, False, True, 1),
        (80, 3, 184, 80, False, True, 1),
        (80, 3, 480, 112, True, True, 1),
        (112, 3, 672, 112, True, True, 1),
        (112, 5, 672, 160, True, True, 2),
        (160, 5, 960, 160, True, True, 1),
        (160, 5, 960, 160, True, True, 1),
    ]
]


def conv_bn_act(
    cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: nn.Module | None = None
) -> nn.Sequential:
    """Conv (no bias) + BatchNorm (eps 1e-3, as trained) + optional activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=0.001, momentum=0.01),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gates from the mean over frequency and time; sigmoid (not hard-sigmoid) gates."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = make_divisible(channels // 4, 8)
        self.fc1 = nn.Linear(channels, squeezed)
        self.fc2 = nn.Linear(squeezed, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, channels, freq, time) -> same shape."""
        s = x.mean(dim=(2, 3))  # (batch, channels)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class SEWrapper(nn.Module):
    """Holds the SE layer under the published key `conc_se_layers.0`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conc_se_layers = nn.ModuleList([SqueezeExcite(channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conc_se_layers[0](x)


class InvertedResidual(nn.Module):
    """Expand 1x1 (skipped when expanded == input), depthwise kxk, optional SE, project 1x1."""

    def __init__(self, spec: BlockSpec, width: float = _WIDTH) -> None:
        super().__init__()
        cin, cout = make_divisible(spec.cin * width), make_divisible(spec.cout * width)
        exp = make_divisible(spec.expanded * width)

        def act() -> nn.Module:
            return nn.Hardswish() if spec.hardswish else nn.ReLU()

        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(conv_bn_act(cin, exp, 1, act=act()))
        layers.append(conv_bn_act(exp, exp, spec.kernel, spec.stride, groups=exp, act=act()))
        if spec.se:
            layers.append(SEWrapper(exp))
        layers.append(conv_bn_act(exp, cout, 1))
        self.block = nn.Sequential(*layers)
        self.residual = spec.stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MN04(nn.Module):
    """mn04 on log-mel (batch, 1, 128, frames) -> embedding (batch, 384), logits (batch, 527)."""

    def __init__(self, width: float = _WIDTH, n_classes: int = N_CLASSES) -> None:
        super().__init__()
        first = make_divisible(16 * width)
        last_block = make_divisible(LARGE_BLOCKS[-1].cout * width)
        last = 6 * last_block
        self.features = nn.Sequential(
            conv_bn_act(1, first, 3, 2, act=nn.Hardswish()),
            *[InvertedResidual(spec, width) for spec in LARGE_BLOCKS],
            conv_bn_act(last_block, last, 1, act=nn.Hardswish()),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(last, 512),
            nn.Hardswish(),
            nn.Dropout(0.2),
            nn.Linear(512, n_classes),
        )
        self.embed_dim = last

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mel: (batch, 1, n_mels, frames) -> (embedding (batch, 384), logits (batch, 527))."""
        fmap = self.features(mel)  # (batch, 384, f', t')
        return fmap.mean(dim=(2, 3)), self.classifier(fmap)

    def embed(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (batch, 1, n_mels, frames) -> embedding (batch, 384), without the classifier."""
        return self.features(mel).mean(dim=(2, 3))


def shared_weights_dir() -> Path:
    """../shared/weights/efficientat_mn04 next to the repository root (may be absent)."""
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "weights" / "efficientat_mn04"


def load_mn04(path: Path | None = None) -> MN04:
    """The pretrained mn04 (strict load, weights_only); FileNotFoundError naming the path."""
    path = path or shared_weights_dir() / MN04_FILE
    if not path.is_file():
        raise FileNotFoundError(f"mn04 weights not found: {path}")
    model = MN04()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


class MN04Embedding(nn.Module):
    """mn04 as the ALM per-channel embedding: causal 48 kHz log-mel windows -> (windows, 384).

    The input is the output of `frontend()` (128 mel bands, same durations as EfficientAT's).
    """

    def __init__(self, pretrained: bool = False) -> None:
        super().__init__()
        self.net = load_mn04() if pretrained else MN04()
        self.out_dim = EMBED_DIM
        self.n_mels = 128
        self.spec: dict[str, object] = {"kind": "mn04"}

    @staticmethod
    def frontend() -> CausalLogMel:
        return CausalLogMel(n_mels=128)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: (windows, 128, frames) -> (windows, 384)."""
        return self.net.embed(mel.unsqueeze(1))
