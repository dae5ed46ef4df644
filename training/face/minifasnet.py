"""MiniFASNet V2 and V1SE (Silent-Face-Anti-Spoofing, minivision-ai, Apache-2.0) in our own PyTorch code.

The published network is a MobileFaceNet-style stack: a strided 3x3 stem, a depthwise 3x3, then
three downsampling bottlenecks (1x1 expand -> depthwise 3x3 stride 2 -> 1x1 linear projection), each
followed by a stage of residual bottlenecks; a 1x1 conv to 512, a depthwise 5x5 "global" conv, a
bias-free linear embedding (128) with batch norm, and a bias-free linear classifier over 3 classes
(class 1 = real). The two shipped variants differ only in the expansion widths of the residual blocks
(pruned widths of the original "1.8M" configurations) and, for V1SE, in a squeeze-and-excitation
module on the last residual block of each stage. Module names follow the published state dicts, so
their weights load with strict=True once DataParallel's ``module.`` prefix is removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

STEM_CHANNELS = 32
EMBEDDING = 128
HEAD_CHANNELS = 512
NUM_CLASSES = 3
REAL_CLASS = 1
INPUT_SIZE = 80
SE_REDUCTION = 4


@dataclass(frozen=True)
class Widths:
    """Expansion widths of each bottleneck; stage outputs are fixed at 64, 128, 128 channels."""
    down: tuple[int, int, int]          # expansion of the three downsampling bottlenecks
    stage2: tuple[int, ...]             # residual blocks at 64 channels (conv_3)
    stage3: tuple[int, ...]             # residual blocks at 128 channels (conv_4)
    stage4: tuple[int, ...]             # residual blocks at 128 channels (conv_5)
    squeeze_excite: bool


VARIANTS = {
    "MiniFASNetV2": Widths((103, 231, 308), (13, 13, 13, 13), (231, 52, 26, 77, 26, 26), (26, 26), False),
    "MiniFASNetV1SE": Widths((103, 231, 308), (13, 26, 13, 52), (154, 52, 26, 52, 26, 26), (26, 26), True),
}
STAGE_OUT = (64, 128, 128)


class ConvBnAct(nn.Module):
    """Conv (no bias) + batch norm (+ PReLU unless ``linear``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, linear=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2 if kernel == 3 else 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        if not linear:
            self.prelu = nn.PReLU(cout)

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.prelu(x) if hasattr(self, "prelu") else x


class SqueezeExcite(nn.Module):
    """Channel gate: global average -> 1x1 reduce (BN, ReLU) -> 1x1 expand (BN) -> sigmoid."""

    def __init__(self, channels: int, reduction: int = SE_REDUCTION):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // reduction)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        gate = torch.relu(self.bn1(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(self.bn2(self.fc2(gate)))


class Bottleneck(nn.Module):
    """1x1 expand (PReLU) -> depthwise 3x3 (PReLU) -> 1x1 linear projection [-> SE] [+ input]."""

    def __init__(self, cin: int, expand: int, cout: int, stride: int, residual: bool, squeeze_excite=False):
        super().__init__()
        self.conv = ConvBnAct(cin, expand)
        self.conv_dw = ConvBnAct(expand, expand, 3, stride, groups=expand)
        self.project = ConvBnAct(expand, cout, linear=True)
        self.residual = residual
        if squeeze_excite:
            self.se_module = SqueezeExcite(cout)

    def forward(self, x):
        y = self.project(self.conv_dw(self.conv(x)))
        if hasattr(self, "se_module"):
            y = self.se_module(y)
        return x + y if self.residual else y


class Stage(nn.Module):
    """Residual bottlenecks at constant width; with SE, only the last block carries the gate."""

    def __init__(self, channels: int, expansions: tuple[int, ...], squeeze_excite: bool):
        super().__init__()
        last = len(expansions) - 1
        self.model = nn.Sequential(*[Bottleneck(channels, e, channels, 1, True, squeeze_excite and i == last)
                                     for i, e in enumerate(expansions)])

    def forward(self, x):
        return self.model(x)


class MiniFASNet(nn.Module):
    """(N, 3, 80, 80) BGR pixels 0..255 (not divided by 255) -> (N, 3) logits; softmax class 1 = real."""

    def __init__(self, widths: Widths):
        super().__init__()
        c64, c128a, c128b = STAGE_OUT
        self.conv1 = ConvBnAct(3, STEM_CHANNELS, 3, 2)
        self.conv2_dw = ConvBnAct(STEM_CHANNELS, STEM_CHANNELS, 3, 1, groups=STEM_CHANNELS)
        self.conv_23 = Bottleneck(STEM_CHANNELS, widths.down[0], c64, 2, False)
        self.conv_3 = Stage(c64, widths.stage2, widths.squeeze_excite)
        self.conv_34 = Bottleneck(c64, widths.down[1], c128a, 2, False)
        self.conv_4 = Stage(c128a, widths.stage3, widths.squeeze_excite)
        self.conv_45 = Bottleneck(c128a, widths.down[2], c128b, 2, False)
        self.conv_5 = Stage(c128b, widths.stage4, widths.squeeze_excite)
        self.conv_6_sep = ConvBnAct(c128b, HEAD_CHANNELS)
        head_kernel = (INPUT_SIZE + 15) // 16   # the 5x5 map left after four stride-2 steps
        self.conv_6_dw = ConvBnAct(HEAD_CHANNELS, HEAD_CHANNELS, head_kernel, groups=HEAD_CHANNELS, linear=True)
        self.linear = nn.Linear(HEAD_CHANNELS, EMBEDDING, bias=False)
        self.bn = nn.BatchNorm1d(EMBEDDING)
        self.prob = nn.Linear(EMBEDDING, NUM_CLASSES, bias=False)

    def forward(self, x):
        for block in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4,
                      self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = block(x)
        return self.prob(self.bn(self.linear(x.flatten(1))))


def variant_of(path: str | Path) -> tuple[str, float]:
    """(variant, crop scale) from the published file names, e.g. '2.7_80x80_MiniFASNetV2.pth' -> 2.7;
    '4_0_0_80x80_MiniFASNetV1SE.pth' -> 4.0 (the original project parses them the same way)."""
    name = Path(path).stem
    scale_text, _size, variant = name.split("_80x80_")[0], "80x80", name.split("_80x80_")[1]
    if variant not in VARIANTS:
        raise ValueError(f"{path}: unknown MiniFASNet variant '{variant}'")
    return variant, float(scale_text.replace("_", ".", 1).replace("_", ""))


def load_published(path: str | Path) -> tuple[MiniFASNet, str, float]:
    """The network with a published state dict loaded strictly; returns (model, variant, crop scale)."""
    variant, scale = variant_of(path)
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = MiniFASNet(VARIANTS[variant])
    model.load_state_dict(state, strict=True)
    return model.eval(), variant, scale
