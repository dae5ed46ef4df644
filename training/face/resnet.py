"""A PyTorch network with the exact structure of dlib's dlib_face_recognition_resnet_model_v1.

150x150 RGB chip, (pixel - mean) / 256 -> 128-d embedding. dlib's strided convolutions
and pools use no padding, and its residual additions zero-extend the smaller operand
(channels and bottom/right rows), so the shapes below follow dlib rather than torchvision.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

CHIP_SIZE = 150
INPUT_SCALE = 256.0
# (channels, blocks, first block downsamples) from the input side, as in dlib's definition
LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))


class Affine(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.gamma[None, :, None, None] + self.beta[None, :, None, None]


def add_extended(a, b):
    """a + b where the smaller one is zero-extended (channels, bottom rows, right columns)."""
    c, h, w = max(a.shape[1], b.shape[1]), max(a.shape[2], b.shape[2]), max(a.shape[3], b.shape[3])
    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))
    return grow(a) + grow(b)


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool, norm=Affine):
        super().__init__()
        stride, pad = (2, 0) if down else (1, 1)
        self.down = down
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, pad)
        self.norm1 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.norm2 = norm(cout)

    def forward(self, x):
        y = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_extended(y, shortcut))


class FaceResNet(nn.Module):
    """(N, 3, 150, 150) RGB, already normalised -> (N, 128), not L2-normalised (as dlib)."""

    def __init__(self, norm=Affine, embedding: int = 128):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, 2, 0)
        self.stem_norm = norm(32)
        blocks, cin = [], 32
        for channels, count, down in LEVELS:
            for i in range(count):
                blocks.append(Block(cin, channels, down and i == 0, norm))
                cin = channels
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, embedding, bias=False)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem_norm(self.stem(x))), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


def load_dlib(weights: dict) -> FaceResNet:
    """Copy weights parsed by training.face.dlib_format.read_resnet into a FaceResNet."""
    net = FaceResNet()
    convs = [net.stem] + [c for b in net.blocks for c in (b.conv1, b.conv2)]
    norms = [net.stem_norm] + [n for b in net.blocks for n in (b.norm1, b.norm2)]
    if len(convs) != len(weights["convs"]) or len(norms) != len(weights["affines"]):
        raise ValueError("layer counts differ from dlib's ResNet")
    with torch.no_grad():
        for conv, w in zip(convs, weights["convs"]):
            if tuple(conv.weight.shape) != w.weight.shape or conv.stride[0] != w.stride:
                raise ValueError(f"conv shape {tuple(conv.weight.shape)} != dlib {w.weight.shape}")
            conv.weight.copy_(torch.from_numpy(w.weight))
            conv.bias.copy_(torch.from_numpy(w.bias))
        for norm, a in zip(norms, weights["affines"]):
            norm.gamma.copy_(torch.from_numpy(a.gamma))
            norm.beta.copy_(torch.from_numpy(a.beta))
        net.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(weights["fc"].reshape(256, 128).T)))
    return net.eval()
