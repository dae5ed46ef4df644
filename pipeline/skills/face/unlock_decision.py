"""The unlock decision shared by `perceive unlock`, the face stage and the demo: identity (verify) and
liveness (liveness_check) put together in one place, so that neither module imports the other."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.skills.face.liveness_check import DEFAULT_PASSIVE_THRESHOLD, LivenessChecker
from pipeline.skills.face.verify import UnlockDecider, Verifier

if TYPE_CHECKING:
    from pipeline.skills.face.liveness import PassiveLiveness

DETECT_BELOW_GATE = 0.75   # the detector looks for faces this much smaller than min_face, to say "too small"
SIZE_TOLERANCE = 0.8       # MTCNN boxes vary about 20% around a face's nominal size; the detector itself keeps
                           # faces from 0.8 x its minimum, so the unlock gate does the same
SMALLEST_DETECTED_FACE = 20  # px: below this, MTCNN's pyramid would grow for faces no gate accepts


def detector_min_face(min_face: float) -> int:
    """The detector's minimum for an unlock gate of ``min_face``: a little smaller, so that a face
    just under the gate is found and refused as "face too small" instead of "no face"."""
    return max(int(min_face * DETECT_BELOW_GATE), SMALLEST_DETECTED_FACE)


def build_decider(templates: dict, threshold: float, k: int, n: int, user: str | None, min_face: float,
                  passive: PassiveLiveness | None, passive_threshold: float = DEFAULT_PASSIVE_THRESHOLD):
    """The unlock decision shared by `perceive unlock`, the face stage and the demo; ``passive=None``
    turns liveness off (identity only)."""
    checker = None if passive is None else LivenessChecker(passive, n, k, passive_threshold)
    return UnlockDecider(Verifier(templates, threshold, k, n, user), checker, min_face * SIZE_TOLERANCE)
