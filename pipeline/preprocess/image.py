"""Frame -> model tensor, as the contract's ``image`` section says. Frames are OpenCV BGR uint8.

Also the one bounded reader of image files: ``read_image`` checks the file size and the
pixel count declared in the header before anything is decoded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.contract import ImageSpec
from pipeline.errors import InputError
from pipeline.preprocess.image_header import KNOWN_FORMATS, image_size

# Limits of read_image. 50 MP admits a 48 MP phone photo (8000 x 6000) and decodes to 150 MB as
# 8-bit BGR (600 MB at worst as 16-bit RGBA); 64 MiB of file is more than such a photo or a
# 600 dpi A4 scan takes as PNG.
MAX_IMAGE_BYTES = 64 * 2**20
MAX_IMAGE_PIXELS = 50_000_000
MEBIBYTE = 2**20


class ImageFileError(InputError):
    """An image file that is missing, too large or not decodable; ``reason`` says why without the path."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def read_image(path: str | Path, flags: int = cv2.IMREAD_COLOR, max_bytes: int = MAX_IMAGE_BYTES,
               max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode an image file, refusing one over ``max_bytes`` of file or ``max_pixels`` of picture."""
    data = _read_bounded(path, max_bytes)
    size = image_size(data)
    if size is None:
        raise ImageFileError(path, f"not a readable image (no {KNOWN_FORMATS} header)")
    width, height = size
    if width * height > max_pixels:
        raise ImageFileError(path, f"image is {width}x{height} pixels, over the limit of {max_pixels:,} pixels "
                                   f"({max_pixels / 1e6:g} MP)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise ImageFileError(path, "not a readable image (damaged or truncated)")
    if image.shape[0] * image.shape[1] > max_pixels:  # a decoder that disagrees with its header
        raise ImageFileError(path, f"image decodes to {image.shape[1]}x{image.shape[0]} pixels, over the limit "
                                   f"of {max_pixels:,} pixels")
    return image


def _read_bounded(path: str | Path, max_bytes: int) -> bytes:
    limit = f"over the limit of {max_bytes / MEBIBYTE:g} MiB for an image"
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:  # a regular file says its size; a pipe is cut off below
                raise ImageFileError(path, f"file is {size / MEBIBYTE:.1f} MiB, {limit}")
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ImageFileError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ImageFileError(path, f"file is {limit}")
    return data


@dataclass(frozen=True)
class Transform:
    """Maps model-input coordinates back to frame coordinates: frame = (model - pad) / scale."""

    scale_x: float = 1.0
    scale_y: float = 1.0
    pad_x: float = 0.0
    pad_y: float = 0.0

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float32).copy()
        pts[..., 0] = (pts[..., 0] - self.pad_x) / self.scale_x
        pts[..., 1] = (pts[..., 1] - self.pad_y) / self.scale_y
        return pts


def check_frame(frame: object) -> np.ndarray:
    """A uint8 image with 1, 3 or 4 channels, else a clear InputError."""
    if not isinstance(frame, np.ndarray):
        raise InputError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputError(f"frame must be uint8, got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise InputError(f"frame must be HxW, HxWx3 or HxWx4, got shape {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise InputError(f"frame is empty: shape {frame.shape}")
    return frame


def convert_color(frame: np.ndarray, color: str) -> np.ndarray:
    """BGR / BGRA / gray frame -> the model's colour order (HxWxC, or HxW for GRAY)."""
    if frame.ndim == 2:
        return frame if color == "GRAY" else cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if color == "GRAY":
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if color == "RGB" else frame


def resize(image: np.ndarray, spec: ImageSpec, size: tuple[int, int] | None) -> tuple[np.ndarray, Transform]:
    """Bring ``image`` to (height, width) = ``size`` (or the contract's) by the contract's mode."""
    h, w = image.shape[:2]
    th, tw = size or (spec.height, spec.width)
    if spec.resize == "none" or (th == h and tw == w):
        return image, Transform()
    if spec.resize == "keep_height":
        new_w = max(1, int(round(w * th / h)))
        return cv2.resize(image, (new_w, th), interpolation=cv2.INTER_LINEAR), Transform(new_w / w, th / h)
    if spec.resize == "stretch":
        return cv2.resize(image, (tw, th), interpolation=cv2.INTER_LINEAR), Transform(tw / w, th / h)
    scale = min(th / h, tw / w)  # letterbox: keep aspect, pad bottom-right
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    out = np.zeros((th, tw) + image.shape[2:], dtype=image.dtype)
    out[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, Transform(nw / w, nh / h)


def normalize(image: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """uint8 HxW[xC] -> float32 1xCxHxW (or 1xHxWxC) with scale, mean and std applied."""
    x = image.astype(np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    x *= spec.scale
    x -= np.asarray(spec.mean, dtype=np.float32)
    x /= np.asarray(spec.std, dtype=np.float32)
    x = x[None]
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if spec.layout == "NCHW" else x


def to_tensor(frame: np.ndarray, spec: ImageSpec,
              size: tuple[int, int] | None = None) -> tuple[np.ndarray, Transform]:
    """The full path: check, colour, resize, normalise."""
    image = convert_color(check_frame(frame), spec.color)
    image, transform = resize(image, spec, size)
    return normalize(image, spec), transform
