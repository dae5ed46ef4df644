"""Enrolment quality gates and k-of-n verification against enrolled templates."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pipeline.errors import InputError
from pipeline.skills.face.detector import Face

if TYPE_CHECKING:
    from pipeline.skills.face.liveness_check import LivenessChecker, LivenessVerdict

# Chosen on real, different photos and clips of the TUNE persons (python -m export.liveness_bench;
# export/liveness_identity.py): the lowest of 0.880..0.980 with single-frame FAR <= 0.1% on 736 impostor
# probes (their max: 0.956, two signers of the intel clips). Held-out persons at 0.96: FAR 0/171,
# FRR 8.8% single frame (57 probes), 0% per 3-of-5 window. Small evidence: re-measure on your own people.
DEFAULT_THRESHOLD = 0.96


@dataclass
class QualityGates:
    min_face: int = 80             # pixels, shorter box side
    min_sharpness: float = 40.0    # variance of the Laplacian inside the face box
    max_yaw: float = 0.25          # nose offset from the eye midpoint, in eye distances
    max_roll_deg: float = 20.0


def quality_problem(frame_bgr: np.ndarray, faces: list[Face], gates: QualityGates) -> str | None:
    """Why this frame is not good enough for enrolment, or None."""
    if len(faces) != 1:
        return "no face found" if not faces else f"{len(faces)} faces: enrol one person at a time"
    face = faces[0]
    if face.size < gates.min_face:
        return f"face too small ({face.size:.0f} px < {gates.min_face}): come closer"
    x1, y1, x2, y2 = np.clip(face.box, 0, [frame_bgr.shape[1], frame_bgr.shape[0]] * 2).astype(int)
    gray = cv2.cvtColor(frame_bgr[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var()) if gray.size else 0.0
    if sharpness < gates.min_sharpness:
        return f"image too blurred (sharpness {sharpness:.0f} < {gates.min_sharpness:.0f})"
    left_eye, right_eye, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_vec = right_eye - left_eye
    eye_dist = float(np.linalg.norm(eye_vec)) or 1.0
    roll = float(np.degrees(np.arctan2(eye_vec[1], eye_vec[0])))
    yaw = float(np.dot(nose - (left_eye + right_eye) / 2, eye_vec / eye_dist) / eye_dist)
    if abs(roll) > gates.max_roll_deg or abs(yaw) > gates.max_yaw:
        return f"look straight at the camera (roll {roll:.0f} deg, yaw {yaw:+.2f})"
    return None


@dataclass
class Match:
    name: str | None
    similarity: float


def best_match(embedding: np.ndarray, templates: dict[str, np.ndarray]) -> Match:
    """The enrolled person whose closest template is most similar (cosine of unit vectors)."""
    best = Match(None, -1.0)
    for name, temps in templates.items():
        sim = float((temps @ embedding).max()) if len(temps) else -1.0
        if sim > best.similarity:
            best = Match(name, sim)
    return best


class Verifier:
    """Unlocked when at least k of the last n frames matched the same person above the threshold."""

    def __init__(self, templates: dict[str, np.ndarray], threshold: float = DEFAULT_THRESHOLD, k: int = 3,
                 n: int = 5, user: str | None = None):
        self.templates = {u: t for u, t in templates.items() if user is None or u == user}
        self.threshold, self.k = threshold, k
        self.recent: deque[str | None] = deque(maxlen=n)

    def update(self, embeddings: np.ndarray) -> tuple[Match, str | None]:
        """Feed one frame's face embeddings; returns the best match and the unlocked user, if any."""
        dims = {t.shape[-1] for t in self.templates.values()}
        if len(embeddings) and dims - {embeddings.shape[-1]}:  # a store that was not read with dim=
            raise InputError(f"enrolled templates have {sorted(dims)} values, the embedding model makes "
                             f"{embeddings.shape[-1]}: re-enrol")
        match = max((best_match(e, self.templates) for e in embeddings), key=lambda m: m.similarity,
                    default=Match(None, -1.0))
        self.recent.append(match.name if match.similarity >= self.threshold else None)
        for name in set(self.recent) - {None}:
            if self.recent.count(name) >= self.k:
                return match, name
        return match, None


@dataclass
class Decision:
    """One frame's unlock decision and, when locked, why (the first unmet condition)."""
    unlocked: str | None
    reason: str
    match: Match
    liveness: LivenessVerdict | None = None    # None: liveness not checked (--no-liveness)
    identity_ok: bool = False


class UnlockDecider:
    """Face unlock = exactly one face, large enough, AND k-of-n identity match AND liveness over the window.

    The same decision serves `perceive unlock`, the face stage (daemon, run) and the demo overlay.
    ``liveness=None`` checks identity only: a photo or a screen then unlocks (testing only).
    """

    def __init__(self, verifier: Verifier, liveness: LivenessChecker | None, min_face: float):
        self.verifier, self.liveness, self.min_face = verifier, liveness, min_face

    def frame_problem(self, faces: list[Face]) -> str | None:
        if not faces:
            return "no face"
        if len(faces) > 1:
            return f"{len(faces)} faces: one person at a time"
        if faces[0].size < self.min_face:
            return f"face too small ({faces[0].size:.0f} px < {self.min_face:.0f}): come closer"
        return None

    def update(self, frame_bgr: np.ndarray, faces: list[Face], embeddings: np.ndarray) -> Decision:
        problem = self.frame_problem(faces)
        if problem:
            self.verifier.update(np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 128), np.float32))
            if self.liveness is not None:
                self.liveness.update(frame_bgr, None)
                self.liveness.reset()   # the face left or is ambiguous: its evidence starts again
            return Decision(None, problem, Match(None, -1.0))
        match, identity = self.verifier.update(embeddings[:1])
        verdict = None
        if self.liveness is not None:
            self.liveness.update(frame_bgr, faces[0])
            verdict = self.liveness.verdict()
        if identity is None:
            return Decision(None, self.identity_reason(match), match, verdict)
        if verdict is not None and not verdict.live:
            return Decision(None, f"not live: {verdict.reason}", match, verdict, identity_ok=True)
        return Decision(identity, "unlocked", match, verdict, identity_ok=True)

    def identity_reason(self, match: Match) -> str:
        if match.name is None:
            return "nobody enrolled to compare with"
        if match.similarity < self.verifier.threshold:
            return f"best match {match.name} {match.similarity:.3f} < {self.verifier.threshold:.3f}"
        count = sum(name == match.name for name in self.verifier.recent)
        return f"matching {match.name}: {count} of {self.verifier.k} frames needed"
