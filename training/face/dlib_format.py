"""Reading dlib's serialised DNN files (.dat) without dlib: only what the ResNet embedding needs.

dlib writes integers as a length/sign byte followed by little-endian bytes, strings as
a length then characters, and (tensor format 2) tensors as 4 integer dims followed by
raw little-endian float32. Layers appear from the input to the output.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

LAYER_NAME = re.compile(rb"\x01[\x03-\x1f]((?:con_4|affine_|fc_2|input_rgb_image_sized)\b)")


@dataclass
class Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray
    stride: int
    padding: int


@dataclass
class Affine:
    gamma: np.ndarray
    beta: np.ndarray


class Reader:
    def __init__(self, data: bytes):
        self.data = data

    def int_at(self, p: int) -> tuple[int, int]:
        head = self.data[p]
        size, negative = head & 0x0F, head & 0x80
        value = int.from_bytes(self.data[p + 1:p + 1 + size], "little")
        return (-value if negative else value), p + 1 + size

    def float_at(self, p: int) -> tuple[float, int]:
        mantissa, p = self.int_at(p)
        exponent, p = self.int_at(p)
        return float(mantissa) * 2.0 ** exponent, p

    def tensor_at(self, p: int) -> tuple[np.ndarray, int]:
        version, p = self.int_at(p)
        if version != 2:
            raise ValueError(f"unsupported dlib tensor format {version} at byte {p}")
        dims = []
        for _ in range(4):
            d, p = self.int_at(p)
            dims.append(d)
        count = int(np.prod(dims))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=p).astype(np.float32)
        return values.reshape(dims), p + 4 * count

    def ints_at(self, p: int, n: int) -> tuple[list[int], int]:
        out = []
        for _ in range(n):
            v, p = self.int_at(p)
            out.append(v)
        return out, p


def read_resnet(path: str) -> dict:
    """{'mean': (r, g, b), 'convs': [Conv...], 'affines': [Affine...], 'fc': (in, out) matrix}."""
    reader = Reader(open(path, "rb").read())
    convs, affines, fc, mean = [], [], None, None
    for match in LAYER_NAME.finditer(reader.data):
        name, p = match.group(1).decode(), match.end()
        if name == "input_rgb_image_sized":
            r, p = reader.float_at(p)
            g, p = reader.float_at(p)
            b, p = reader.float_at(p)
            mean = (r, g, b)
        elif name == "con_4":
            params, p = reader.tensor_at(p)
            (filters, kh, kw, sy, sx, py, px), p = reader.ints_at(p, 7)
            n_in = (params.size - filters) // (filters * kh * kw)
            flat = params.reshape(-1)
            weight = flat[: filters * n_in * kh * kw].reshape(filters, n_in, kh, kw)
            convs.append(Conv(weight, flat[filters * n_in * kh * kw:], sy, py))
        elif name == "affine_":
            params, p = reader.tensor_at(p)
            half = params.size // 2
            affines.append(Affine(params.reshape(-1)[:half], params.reshape(-1)[half:]))
        elif name == "fc_2":
            _, p = reader.ints_at(p, 2)  # outputs, inputs: the tensor's own dims say the same
            params, p = reader.tensor_at(p)
            fc = params
    if mean is None or fc is None:
        raise ValueError(f"{path}: not dlib's face recognition ResNet (input or fc layer not found)")
    return {"mean": mean, "convs": convs, "affines": affines, "fc": fc}
