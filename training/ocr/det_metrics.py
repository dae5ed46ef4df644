"""Matching detected line boxes to ground truth at IoU >= 0.5 (one-to-one, greedy by IoU)."""
from __future__ import annotations

import cv2
import numpy as np

IOU_MATCH = 0.5


def quad_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    inter, _ = cv2.intersectConvexConvex(a, b)
    union = abs(cv2.contourArea(a)) + abs(cv2.contourArea(b)) - inter
    return float(inter / union) if union > 0 else 0.0


def match_boxes(predicted: list, truth: list, threshold: float = IOU_MATCH) -> int:
    """How many true boxes are matched by a distinct predicted box with IoU >= threshold."""
    pairs = sorted(((quad_iou(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(truth)),
                   reverse=True)
    used_p, used_t, matched = set(), set(), 0
    for iou, i, j in pairs:
        if iou < threshold:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matched += 1
    return matched
