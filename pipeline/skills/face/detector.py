"""MTCNN cascade at run time: image pyramid -> P-Net proposals -> R-Net -> O-Net with landmarks.

The pyramid starts at the scale where ``min_face`` pixels become P-Net's 12-pixel
window, so raising ``min_face`` (faces are large at unlock distance) removes the
costly fine scales.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.preprocess.image import check_frame, convert_color

CELL = 12          # P-Net's receptive window
STRIDE = 2         # P-Net's output stride
RNET_SIZE, ONET_SIZE = 24, 48


@dataclass
class Face:
    box: np.ndarray          # x1, y1, x2, y2 in frame pixels
    score: float
    landmarks: np.ndarray    # (5, 2): left eye, right eye, nose, left mouth corner, right mouth corner

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@dataclass
class DetectorParams:
    min_face: int = 40
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    nms: tuple[float, float, float] = (0.5, 0.7, 0.7)
    scale_factor: float = 0.709
    max_proposals: int = 400      # R-Net input cap: bounds the cost of cluttered frames


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (IoU, or overlap over the smaller box)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes.T
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0, xx2 - xx1 + 1) * np.maximum(0, yy2 - yy1 + 1)
        denom = np.minimum(area[i], area[order[1:]]) if mode == "min" else area[i] + area[order[1:]] - inter
        order = order[1:][inter / denom <= threshold]
    return np.array(keep, dtype=np.int64)


def regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    return boxes + reg * np.stack([w, h, w, h], axis=1)


def square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx, cy = boxes[:, 0] + w / 2, boxes[:, 1] + h / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, 3, size, size) patches of the normalised image; outside the frame is zero (the mean)."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), 3, size, size), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(np.round(boxes).astype(int)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), np.float32)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
    return out


@dataclass
class FaceDetector:
    pnet: Engine
    rnet: Engine
    onet: Engine
    params: DetectorParams = field(default_factory=DetectorParams)

    def __post_init__(self):
        c = self.pnet.contract
        if c is None or c.task != "face_detect" or c.image is None:
            raise ContractError(f"{self.pnet.path.name}: not a face_detect (P-Net) model")
        self.spec = c.image
        self.mean = np.asarray(self.spec.mean, np.float32) / self.spec.scale
        self.inv_std = self.spec.scale / np.asarray(self.spec.std, np.float32)

    def normalise(self, frame: np.ndarray) -> np.ndarray:
        rgb = convert_color(check_frame(frame), self.spec.color).astype(np.float32)
        return (rgb - self.mean) * self.inv_std

    def scales(self, h: int, w: int) -> list[float]:
        first = CELL / self.params.min_face
        out, s = [], first
        while min(h, w) * s >= CELL:
            out.append(s)
            s *= self.params.scale_factor
        return out

    def propose(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        found = []
        for s in self.scales(h, w):
            scaled = cv2.resize(image, (int(np.ceil(w * s)), int(np.ceil(h * s))), interpolation=cv2.INTER_AREA)
            out = self.pnet.run({"image": scaled.transpose(2, 0, 1)[None].copy()})
            prob, reg = out["prob"][0, 0], out["reg"][0]
            ys, xs = np.where(prob > self.params.thresholds[0])
            if len(ys) == 0:
                continue
            boxes = np.stack([(STRIDE * xs + 1) / s, (STRIDE * ys + 1) / s,
                              (STRIDE * xs + CELL) / s, (STRIDE * ys + CELL) / s, prob[ys, xs]], axis=1)
            boxes = np.concatenate([boxes, reg[:, ys, xs].T], axis=1)
            found.append(boxes[nms(boxes[:, :4], boxes[:, 4], self.params.nms[0])])
        if not found:
            return np.zeros((0, 9), np.float32)
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        refined = square(regress(boxes[:, :4], boxes[:, 5:9]))
        return np.concatenate([refined, boxes[:, 4:5]], axis=1)[: self.params.max_proposals]

    def detect(self, frame: np.ndarray) -> list[Face]:
        image = self.normalise(frame)
        cand = self.propose(image)
        if len(cand):
            out = self.rnet.run({"image": crops(image, cand[:, :4], RNET_SIZE)})
            keep = out["prob"] > self.params.thresholds[1]
            cand, reg, prob = cand[keep], out["reg"][keep], out["prob"][keep]
            k = nms(cand[:, :4], prob, self.params.nms[1])
            cand = np.concatenate([square(regress(cand[k, :4], reg[k])), prob[k, None]], axis=1)
        if not len(cand):
            return []
        out = self.onet.run({"image": crops(image, cand[:, :4], ONET_SIZE)})
        keep = out["prob"] > self.params.thresholds[2]
        boxes, prob, reg, marks = cand[keep, :4], out["prob"][keep], out["reg"][keep], out["landmarks"][keep]
        w, h = (boxes[:, 2] - boxes[:, 0] + 1)[:, None], (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        points = np.stack([boxes[:, 0:1] + w * marks[:, :5], boxes[:, 1:2] + h * marks[:, 5:]], axis=2)
        boxes = regress(boxes, reg)
        k = nms(boxes, prob, self.params.nms[2], mode="min")
        faces = [Face(boxes[i], float(prob[i]), points[i]) for i in k]
        return [f for f in faces if f.size >= self.params.min_face * 0.8]


def timed_detect(detector: FaceDetector, frame: np.ndarray) -> tuple[list[Face], float]:
    start = time.perf_counter()
    faces = detector.detect(frame)
    return faces, (time.perf_counter() - start) * 1000
