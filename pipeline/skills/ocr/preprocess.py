"""OCR preprocessing shared by training and the runtime: line crops and detector input."""
from __future__ import annotations

import cv2
import numpy as np

from pipeline.contract import ImageSpec
from pipeline.preprocess.image import check_frame, convert_color, normalize

WIDTH_MULTIPLE = 4      # the recogniser downsamples width by 4: one CTC step per 4 pixels
MIN_LINE_WIDTH = 16
DETECTOR_MULTIPLE = 32  # the detector downsamples by 32


def line_to_gray(crop: np.ndarray, height: int, max_width: int) -> np.ndarray:
    """A BGR/gray line crop -> uint8 gray of ``height`` rows, aspect kept, width a multiple of 4."""
    gray = convert_color(check_frame(crop), "GRAY")
    h, w = gray.shape
    new_w = int(round(w * height / h))
    new_w = min(max_width, max(MIN_LINE_WIDTH, -(-new_w // WIDTH_MULTIPLE) * WIDTH_MULTIPLE))
    return cv2.resize(gray, (new_w, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)


def batch_lines(grays: list[np.ndarray], spec: ImageSpec) -> np.ndarray:
    """Equal-height gray lines -> one float32 (N, 1, H, Wmax) batch; short lines are padded by
    repeating their last column (a dark bar would read as a character)."""
    width = max(g.shape[1] for g in grays)
    padded = [cv2.copyMakeBorder(g, 0, 0, 0, width - g.shape[1], cv2.BORDER_REPLICATE) for g in grays]
    return np.concatenate([normalize(p, spec) for p in padded])


def detector_input(frame: np.ndarray, spec: ImageSpec, long_side: int) -> tuple[np.ndarray, float, float]:
    """Frame -> (1, 3, H, W) with the long side near ``long_side`` and both sides multiples of 32.
    Returns the tensor and the x / y scale factors from frame to tensor."""
    image = convert_color(check_frame(frame), spec.color)
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    th = max(DETECTOR_MULTIPLE, int(round(h * scale / DETECTOR_MULTIPLE)) * DETECTOR_MULTIPLE)
    tw = max(DETECTOR_MULTIPLE, int(round(w * scale / DETECTOR_MULTIPLE)) * DETECTOR_MULTIPLE)
    resized = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return normalize(resized, spec), tw / w, th / h
