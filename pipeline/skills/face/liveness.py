"""Passive liveness: MiniFASNet on a context crop around each face (photo and screen texture, moire, edges).

Each model's contract says how far around the face box it looks (``params.crop_scale``, 2.7 or 4.0
box sizes), its input size and colour order (80x80 BGR, pixels 0..255) and which class is real.
The crop follows the original project (Silent-Face-Anti-Spoofing ``CropImage``): the box is scaled
about its centre, shifted back inside the frame instead of padded, then stretched to the input size.
The score of a face is the mean over models of the softmax probability of the real class.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.skills.face.detector import Face
from pipeline.preprocess.image import convert_color, normalize

TASK = "face_liveness"
MODEL_NAMES = ("face_liveness_v2", "face_liveness_v1se")


def context_box(box: np.ndarray, frame_hw: tuple[int, int], scale: float) -> tuple[int, int, int, int]:
    """The face box scaled by ``scale`` about its centre, limited so it fits, and shifted inside the frame.
    Returns inclusive pixel bounds x1, y1, x2, y2."""
    h, w = frame_hw
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    scale = min((h - 1) / bh, (w - 1) / bw, scale)
    cx, cy = x1 + bw / 2, y1 + bh / 2
    half_w, half_h = bw * scale / 2, bh * scale / 2
    left, top, right, bottom = cx - half_w, cy - half_h, cx + half_w, cy + half_h
    if left < 0:
        right, left = right - left, 0.0
    if top < 0:
        bottom, top = bottom - top, 0.0
    if right > w - 1:
        left, right = left - (right - w + 1), w - 1.0
    if bottom > h - 1:
        top, bottom = top - (bottom - h + 1), h - 1.0
    return int(left), int(top), int(right), int(bottom)


def context_crop(frame_bgr: np.ndarray, box: np.ndarray, scale: float, size: tuple[int, int]) -> np.ndarray:
    """The model's input crop (BGR uint8, size = (width, height))."""
    x1, y1, x2, y2 = context_box(box, frame_bgr.shape[:2], scale)
    return cv2.resize(frame_bgr[y1:y2 + 1, x1:x2 + 1], size)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class PassiveModel:
    engine: Engine

    def __post_init__(self):
        c = self.engine.contract
        if c is None or c.task != TASK or c.image is None or "crop_scale" not in c.params:
            raise ContractError(f"{self.engine.path.name}: not a {TASK} model with a crop_scale")
        if "real" not in c.labels:
            raise ContractError(f"{self.engine.path.name}: contract labels {c.labels} name no 'real' class")
        self.spec, self.scale = c.image, float(c.params["crop_scale"])
        self.real_class = c.labels.index("real")
        self.input = self.engine.inputs[0].name

    def real_probability(self, frame_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        if not faces:
            return np.zeros(0, np.float32)
        size = (self.spec.width, self.spec.height)
        crops = [convert_color(context_crop(frame_bgr, f.box, self.scale, size), self.spec.color) for f in faces]
        batch = np.concatenate([normalize(c, self.spec) for c in crops])
        logits = next(iter(self.engine.run({self.input: batch}).values()))
        return softmax(logits.astype(np.float64))[:, self.real_class].astype(np.float32)


class PassiveLiveness:
    """Mean real-class probability over one or more MiniFASNet models, per face."""

    def __init__(self, engines: list[Engine]):
        if not engines:
            raise ContractError("passive liveness needs at least one face_liveness model")
        self.models = [PassiveModel(e) for e in engines]

    def scores(self, frame_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        return np.mean([m.real_probability(frame_bgr, faces) for m in self.models], axis=0) if faces \
            else np.zeros(0, np.float32)


def load_passive(config=None, dirs: list[str] | None = None, names: tuple[str, ...] = MODEL_NAMES) -> PassiveLiveness:
    """The shipped passive models by name (face_liveness_v2: 2.7x context, face_liveness_v1se: 4.0x)."""
    from pipeline.engine import EngineConfig
    from pipeline.runtime.stage import resolve_model
    return PassiveLiveness([Engine(resolve_model(n, dirs or []), config or EngineConfig()) for n in names])
