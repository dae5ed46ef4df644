"""The liveness verdict over a window of frames: passive texture score AND motion that is not a plane.

A face is live over the window when
- the mean passive score (MiniFASNet real-class probability) of the window's frames reaches
  ``passive_threshold``, from at least ``min_frames`` scored frames; and
- the motion evidence (pipeline.skills.face.liveness_motion) shows depth (3-D: parallax or non-rigid
  motion off the best plane), and is neither FROZEN (the same picture repeated) nor PLANAR (the face
  moved as one flat sheet). A face held perfectly still gives no motion evidence and is not yet live:
  the reason asks for a small head movement (a real face always moves a little; a photo held still
  on a stand does not).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.skills.face.liveness_motion import DEPTH, FROZEN, PLANAR, MotionParams, MotionTracker

# Chosen on the TUNE persons' live clips and attacks (python -m export.liveness_bench): the highest of
# 0.3..0.9 whose tune BPCER stays <= 5% with 3-D motion required (tune: BPCER 0/60, APCER 3/58).
# Card: pipeline/models/face_liveness.md.
DEFAULT_PASSIVE_THRESHOLD = 0.9

if TYPE_CHECKING:   # the engine (onnxruntime) is imported only where models are loaded
    from pipeline.skills.face.detector import Face
    from pipeline.skills.face.liveness import PassiveLiveness


@dataclass
class LivenessVerdict:
    live: bool
    score: float          # mean passive real-class probability over the window (0 when not scored)
    reason: str           # "live", "planar motion", "frozen frame", "live score 0.12 < 0.50 ...", ...


class LivenessChecker:
    def __init__(self, passive: PassiveLiveness, window: int, min_frames: int,
                 passive_threshold: float = DEFAULT_PASSIVE_THRESHOLD, motion: MotionParams | None = None):
        self.passive, self.min_frames, self.threshold = passive, min_frames, passive_threshold
        self.scores: deque[float] = deque(maxlen=window)
        self.motion = MotionTracker(window, motion)

    def reset(self) -> None:
        """The face left or changed: evidence so far belongs to someone else."""
        self.scores.clear()
        self.motion.reset()

    def update(self, frame_bgr: np.ndarray, face: Face | None) -> float | None:
        """Feed a frame and its single face (None: no usable face). Returns the frame's passive score."""
        self.motion.update(frame_bgr, None if face is None else face.box)
        if face is None:
            return None
        score = float(self.passive.scores(frame_bgr, [face])[0])
        self.scores.append(score)
        return score

    def verdict(self) -> LivenessVerdict:
        score = float(np.mean(self.scores)) if self.scores else 0.0
        motion = self.motion.verdict()
        if motion.kind == FROZEN:
            return LivenessVerdict(False, score, "frozen frame")
        if motion.kind == PLANAR:
            return LivenessVerdict(False, score, "planar motion")
        if len(self.scores) < self.min_frames:
            return LivenessVerdict(False, score, f"not enough frames ({len(self.scores)} of {self.min_frames})")
        if score < self.threshold:
            why = f"live score {score:.2f} < {self.threshold:.2f} (photo or screen texture)"
            return LivenessVerdict(False, score, why)
        if motion.kind != DEPTH:
            return LivenessVerdict(False, score, "no 3-D motion yet (move your head a little)")
        return LivenessVerdict(True, score, "live (3-D motion)")
