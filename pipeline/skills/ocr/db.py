"""Text-core probability map -> rotated line boxes (DB-style post-processing).

The detector is trained to light up the *core* of each text line: the middle
``CORE_HEIGHT`` of its height, with ``(1 - CORE_HEIGHT) / 2`` of the height trimmed
from each end, so that neighbouring lines never touch. Here each connected region
above ``threshold`` becomes a min-area rectangle, kept when its mean probability
reaches ``box_threshold``, and is grown back to the full line box. A trained detector
lights up a core a little thicker or thinner than it was taught, so the growth assumes
``core_ratio`` (tuned on training-font scenes at export, kept in the contract) rather
than exactly ``CORE_HEIGHT``: DB's "unclip ratio", measured instead of guessed.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CORE_HEIGHT = 0.5
# A detector that separates close lines well also splits a large line at its word gaps (a 640x480
# sign enlarged to 960 px: `72%`, `549`, `Anthologists`). Boxes on one row (centres within a quarter
# of a line height, heights within 1.5x) whose ends are closer than this many line heights are
# joined into one line. Synthetic scenes keep side-by-side lines a full line height apart.
MERGE_GAP = 0.5


@dataclass
class DetectParams:
    threshold: float = 0.3
    box_threshold: float = 0.5
    core_ratio: float = CORE_HEIGHT   # detected core height / full line height
    min_height: float = 2.0    # in map pixels: thinner cores are noise
    max_boxes: int = 200
    merge_gap: float = MERGE_GAP   # boxes on one row closer than this many line heights are one line (0: never)

    @classmethod
    def from_contract(cls, params: dict) -> "DetectParams":
        return cls(**{k: float(params[k]) for k in ("threshold", "box_threshold", "core_ratio") if k in params})


def core_of(quad: np.ndarray) -> np.ndarray:
    """The training target region of a line box (4x2, tl tr br bl order)."""
    tl, tr, br, bl = quad.astype(np.float32)
    height_vec = ((bl - tl) + (br - tr)) / 2
    width_vec = ((tr - tl) + (br - bl)) / 2
    h = np.linalg.norm(height_vec)
    along = width_vec / max(np.linalg.norm(width_vec), 1e-6) * h * (1 - CORE_HEIGHT) / 2
    down = height_vec * (1 - CORE_HEIGHT) / 2
    return np.array([tl + down + along, tr + down - along, br - down - along, bl - down + along], np.float32)


def grow_core(rect, core_ratio: float = CORE_HEIGHT) -> np.ndarray:
    """A core rectangle (cv2.minAreaRect) -> the full line box, tl tr br bl.

    Built from the box's own edges, not OpenCV's angle convention: the edge closer to
    horizontal runs along the text."""
    pts = cv2.boxPoints(rect)
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    along, across = (e1, e2) if abs(e1[0]) * np.linalg.norm(e2) >= abs(e2[0]) * np.linalg.norm(e1) else (e2, e1)
    w, h = np.linalg.norm(along), np.linalg.norm(across)
    u, v = along / max(w, 1e-6), across / max(h, 1e-6)
    full_h = h / core_ratio
    full_w = w + (1 - core_ratio) * full_h
    centre = np.asarray(rect[0], np.float32)
    corners = [centre + sx * u * full_w / 2 + sy * v * full_h / 2 for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return order_quad(np.array(corners, np.float32))


def order_quad(points: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left for a roughly horizontal box."""
    pts = points[np.argsort(points[:, 0])]
    left, right = pts[:2], pts[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


def boxes_from_map(prob: np.ndarray, params: DetectParams) -> tuple[list[np.ndarray], list[float]]:
    """prob (H, W) in [0, 1] -> line quads (4x2, map coordinates) and their scores."""
    mask = (prob > params.threshold).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quads, scores = [], []
    for contour in contours[: params.max_boxes]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < params.min_height:
            continue
        score = _mean_score(prob, contour)
        if score < params.box_threshold:
            continue
        quads.append(grow_core(rect, params.core_ratio))
        scores.append(score)
    return merge_rows(quads, scores, params.merge_gap) if params.merge_gap > 0 else (quads, scores)


def _row_geometry(quad: np.ndarray) -> tuple[float, float, float, float]:
    """(left x, right x, centre y, height) of a roughly horizontal tl tr br bl box."""
    tl, tr, br, bl = quad
    return min(tl[0], bl[0]), max(tr[0], br[0]), float(quad[:, 1].mean()), float((bl[1] - tl[1] + br[1] - tr[1]) / 2)


def _continues(a: np.ndarray, b: np.ndarray, gap: float) -> bool:
    """Box b continues box a on its row: centres within a quarter of a line height, heights within
    1.5x, ends less than ``gap`` line heights apart."""
    la, ra, ya, ha = _row_geometry(a)
    lb, rb, yb, hb = _row_geometry(b)
    h = max(ha, hb, 1e-6)
    return abs(ya - yb) < 0.25 * h and h <= 1.5 * max(min(ha, hb), 1e-6) and max(la, lb) - min(ra, rb) < gap * h


def merge_rows(quads: list[np.ndarray], scores: list[float], gap: float) -> tuple[list[np.ndarray], list[float]]:
    """Join boxes that continue each other on one row (see MERGE_GAP), in one pass from left to right;
    a joined box's score is the width-weighted mean of its parts."""
    rows: list[tuple[np.ndarray, float, float]] = []      # (box, score, width)
    for quad, score in sorted(zip(quads, scores), key=lambda it: float(it[0][:, 0].min())):
        left, right, _, _ = _row_geometry(quad)
        width = max(right - left, 1e-6)
        for k, (row, row_score, row_width) in enumerate(rows):
            if _continues(row, quad, gap):
                joined = order_quad(cv2.boxPoints(cv2.minAreaRect(np.concatenate([row, quad]).astype(np.float32))))
                rows[k] = (joined, float((row_score * row_width + score * width) / (row_width + width)), row_width + width)
                break
        else:
            rows.append((quad, float(score), width))
    return [q for q, _, _ in rows], [sc for _, sc, _ in rows]


def _mean_score(prob: np.ndarray, contour: np.ndarray) -> float:
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [contour - [x, y]], 1)
    return float(cv2.mean(prob[y:y + h, x:x + w], mask)[0])
