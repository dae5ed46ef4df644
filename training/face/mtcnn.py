"""MTCNN's P-, R- and O-Net (Zhang et al. 2016) in PyTorch, loadable from facenet-pytorch's MIT weights.

Inputs are RGB, (pixel - 127.5) / 128, NCHW. The published weights come from the
original Caffe models, whose dense layers read features in (width, height, channel)
order; the permute before each flatten keeps that order so the weights fit as published.
Outputs are the face probability, box regression and (O-Net) five landmarks.
"""
from __future__ import annotations

import torch
from torch import nn

PIXEL_MEAN = 127.5
PIXEL_SCALE = 1 / 128.0


def _cp(cin: int, cout: int, k: int):
    return nn.Conv2d(cin, cout, k), nn.PReLU(cout)


def _flatten_caffe(x):
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    """12x12 proposals, fully convolutional: (N,3,H,W) -> prob (N,1,h,w), reg (N,4,h,w)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = _cp(3, 10, 3)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _cp(10, 16, 3)
        self.conv3, self.prelu3 = _cp(16, 32, 3)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return torch.softmax(self.conv4_1(x), dim=1)[:, 1:2], self.conv4_2(x)


class RNet(nn.Module):
    """24x24 refinement: (N,3,24,24) -> prob (N,), reg (N,4)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = _cp(3, 28, 3)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _cp(28, 48, 3)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = _cp(48, 64, 2)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu4(self.dense4(_flatten_caffe(self.prelu3(self.conv3(x)))))
        return torch.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)


class ONet(nn.Module):
    """48x48 output stage: (N,3,48,48) -> prob (N,), reg (N,4), landmarks (N,10) as x1..x5, y1..y5."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = _cp(3, 32, 3)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = _cp(32, 64, 3)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = _cp(64, 64, 3)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = _cp(64, 128, 2)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu5(self.dense5(_flatten_caffe(self.prelu4(self.conv4(x)))))
        return torch.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x), self.dense6_3(x)


def load_state_dicts(state_dicts: dict[str, dict]) -> tuple[PNet, RNet, ONet]:
    """Nets from the state_dicts facenet-pytorch ships as data/{pnet,rnet,onet}.pt."""
    nets = (PNet(), RNet(), ONet())
    for net, name in zip(nets, ("pnet", "rnet", "onet")):
        net.load_state_dict(state_dicts[name])
        net.eval()
    return nets
