"""Motion liveness: a photo (printed or on a screen) moves as a plane, a real head does not.

Between consecutive frames, many corner points inside the face box are tracked with pyramidal
Lucas-Kanade (forward-backward checked) and one homography is fitted to them robustly (OpenCV's
RHO, a fast RANSAC variant). Every
motion of a flat picture in front of a pinhole camera is exactly a homography, so all tracks fit it
to within tracking noise; a real head that turns or talks shows parallax (nose against cheeks and
face outline) and non-rigid motion, which leave a share of tracks off the best plane. A frame pair
whose face did not change at all (mean absolute difference below camera noise) is a frozen replay.
Pairs with almost no motion carry no evidence either way ("still").
Pure OpenCV + numpy; no landmarks model needed.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

FROZEN, STILL, PLANAR, DEPTH, LOST = "frozen", "still", "planar", "3d", "lost"


@dataclass(frozen=True)
class MotionParams:
    max_points: int = 120           # corners tracked per face
    min_points: int = 15            # fewer tracked points: the pair is LOST (no evidence)
    corner_quality: float = 0.005   # relative corner strength (faces are low-contrast)
    inset: float = 0.08             # shrink the face box per side so corners stay on the face
    fb_error_px: float = 0.5        # forward-backward tracking error above which a track is dropped
    frozen_diff: float = 0.4        # mean |difference| in grey levels below which the face is frozen
    min_motion_px: float = 0.8      # median track motion below which a pair is STILL
    residual_px: float = 0.6        # RANSAC inlier distance to the fitted homography
    min_offplane: float = 0.25      # share of tracks off the plane for 3-D evidence ...
    max_planar_offplane: float = 0.12  # ... and at most this share for planar evidence
    detail_sigma: float = 4.0       # high-pass blur per 100 px of face: keeps texture, drops shading
    search_margin: float = 0.25     # the tracked window: the face box grown by this share per side


@dataclass
class PairMotion:
    kind: str
    points: int = 0
    motion_px: float = 0.0
    offplane: float = 0.0           # share of tracks farther than residual_px from the best homography
    diff: float = 0.0               # mean absolute grey-level difference inside the face


def face_region(box: np.ndarray, shape: tuple[int, int], inset: float) -> tuple[int, int, int, int]:
    h, w = shape
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) * inset, (y2 - y1) * inset
    return (int(max(x1 + dx, 0)), int(max(y1 + dy, 0)), int(min(x2 - dx, w)), int(min(y2 - dy, h)))


def track(prev_gray: np.ndarray, gray: np.ndarray, region: tuple[int, int, int, int],
          params: MotionParams) -> tuple[np.ndarray, np.ndarray]:
    """Corners in ``region`` of the previous frame and where they are now (forward-backward checked)."""
    x1, y1, x2, y2 = region
    if x2 - x1 < 8 or y2 - y1 < 8:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    mask = np.zeros_like(prev_gray)
    mask[y1:y2, x1:x2] = 255
    min_distance = max(2.0, min(x2 - x1, y2 - y1) / 20)   # spread the corners over the whole face
    p0 = cv2.goodFeaturesToTrack(prev_gray, params.max_points, params.corner_quality, min_distance, mask=mask)
    if p0 is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    lk = {"winSize": (15, 15), "maxLevel": 3,
          "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)}
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev_gray, gray, p0, None, **lk)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, prev_gray, p1, None, **lk)
    good = (st1[:, 0] == 1) & (st2[:, 0] == 1) & (np.linalg.norm(back - p0, axis=2)[:, 0] < params.fb_error_px)
    return p0[good, 0], p1[good, 0]


def offplane_share(p0: np.ndarray, p1: np.ndarray, residual_px: float) -> float:
    """Share of point pairs farther than ``residual_px`` from the best (robustly fitted) homography."""
    h, _ = cv2.findHomography(p0, p1, cv2.RHO, residual_px, maxIters=200, confidence=0.99)
    if h is None:
        return 1.0
    projected = cv2.perspectiveTransform(p0[:, None].astype(np.float64), h)[:, 0]
    return float((np.linalg.norm(projected - p1, axis=1) > residual_px).mean())


def classify_tracks(p0: np.ndarray, p1: np.ndarray, params: MotionParams) -> PairMotion:
    """The evidence carried by one set of point tracks (the unit-testable core)."""
    if len(p0) < params.min_points:
        return PairMotion(LOST, len(p0))
    motion = float(np.median(np.linalg.norm(p1 - p0, axis=1)))
    offplane = offplane_share(p0, p1, params.residual_px)
    if offplane >= params.min_offplane:
        kind = DEPTH        # parallax or non-rigid motion shows even when the face barely moves
    elif motion < params.min_motion_px:
        kind = STILL
    elif offplane <= params.max_planar_offplane:
        kind = PLANAR
    else:
        kind = STILL        # between the two: no evidence either way
    return PairMotion(kind, len(p0), motion, offplane)


def high_pass(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Detail only: smooth brightness changes (a screen's refresh band, glare, auto-exposure) would
    otherwise bend the optical flow of a flat picture away from a homography."""
    size = 2 * int(sigma) + 1      # a box blur: shading removal needs no Gaussian, and it costs O(1) per pixel
    detail = gray.astype(np.int16) - cv2.blur(gray, (size, size)).astype(np.int16)
    return np.clip(detail * 2 + 128, 0, 255).astype(np.uint8)


def pair_motion(prev_gray: np.ndarray, gray: np.ndarray, prev_box: np.ndarray, params: MotionParams) -> PairMotion:
    # work on a window around the face only: the same pixels of both frames, a fraction of the frame's cost
    fx1, fy1, fx2, fy2 = face_region(prev_box, gray.shape[:2], -params.search_margin)
    prev_gray, gray = prev_gray[fy1:fy2, fx1:fx2], gray[fy1:fy2, fx1:fx2]
    x1, y1, x2, y2 = face_region(np.asarray(prev_box) - [fx1, fy1, fx1, fy1], gray.shape[:2], params.inset)
    diff = float(cv2.absdiff(prev_gray[y1:y2, x1:x2], gray[y1:y2, x1:x2]).mean()) if x2 > x1 and y2 > y1 else 0.0
    if diff < params.frozen_diff:
        return PairMotion(FROZEN, diff=diff)
    sigma = params.detail_sigma * max(x2 - x1, 1) / 100
    p0, p1 = track(high_pass(prev_gray, sigma), high_pass(gray, sigma), (x1, y1, x2, y2), params)
    result = classify_tracks(p0, p1, params)
    result.diff = diff
    return result


@dataclass
class MotionVerdict:
    kind: str           # FROZEN, PLANAR, DEPTH or STILL (no evidence)
    counts: dict[str, int] = field(default_factory=dict)


def window_verdict(pairs: list[PairMotion]) -> MotionVerdict:
    """Frozen when half the pairs repeat the same picture; planar when moving pairs are mostly planar
    (at least two planar pairs per 3-D pair, and two or more of them); 3-D when a 3-D pair outweighs them."""
    counts = {k: sum(p.kind == k for p in pairs) for k in (FROZEN, STILL, PLANAR, DEPTH, LOST)}
    if pairs and counts[FROZEN] * 2 >= len(pairs):
        return MotionVerdict(FROZEN, counts)
    if counts[PLANAR] >= 2 and counts[PLANAR] >= 2 * counts[DEPTH]:
        return MotionVerdict(PLANAR, counts)
    if counts[DEPTH] >= 1:
        return MotionVerdict(DEPTH, counts)
    return MotionVerdict(STILL, counts)


class MotionTracker:
    """Per-frame motion evidence of the one face in view over the last ``window`` frame pairs."""

    def __init__(self, window: int, params: MotionParams | None = None):
        self.params = params or MotionParams()
        self.pairs: deque[PairMotion] = deque(maxlen=max(window, 1))
        self.prev: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        self.pairs.clear()
        self.prev = None

    def update(self, frame_bgr: np.ndarray, box: np.ndarray | None) -> PairMotion | None:
        """Feed a frame and the box of its single face (None: no usable face, the track restarts)."""
        if box is None:
            self.prev = None
            return None
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        pair = None
        if self.prev is not None and self.prev[0].shape == gray.shape:
            pair = pair_motion(self.prev[0], gray, self.prev[1], self.params)
            self.pairs.append(pair)
        self.prev = (gray, np.asarray(box, np.float32))
        return pair

    def verdict(self) -> MotionVerdict:
        return window_verdict(list(self.pairs))
