"""The ``face`` stage: detect, align, embed, check liveness and decide unlock on every frame.

The decision is pipeline.skills.face's UnlockDecider, the same one `perceive unlock` uses: exactly one
face, large enough, k-of-n identity AND liveness (unless ``liveness = false``, which lets a photo in).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config.loader import option
from pipeline.skills.face.detector import DetectorParams, Face, FaceDetector
from pipeline.skills.face.embedder import FaceEmbedder
from pipeline.skills.face.liveness import MODEL_NAMES, PassiveLiveness
from pipeline.skills.face.liveness_check import DEFAULT_PASSIVE_THRESHOLD
from pipeline.skills.face.unlock_decision import build_decider, detector_min_face
from pipeline.skills.face.store import TemplateStore, default_store_path
from pipeline.skills.face.verify import DEFAULT_THRESHOLD, Match, best_match
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item


@dataclass(kw_only=True)
class FaceConfig(StageConfig):
    store: str = option("", "Enrolled templates (JSON); empty uses $STATE_DIRECTORY/faces.json or ~/.local/share.")
    min_face: int = option(60, "Smallest face, in pixels, that may unlock (the detector looks a little smaller, "
                               "to say 'face too small').")
    threshold: float = option(DEFAULT_THRESHOLD, "Cosine similarity needed for a match.")
    k: int = option(3, "Matching live frames needed ...")
    n: int = option(5, "... among the last n frames to unlock.")
    user: str = option("", "Only this enrolled person can unlock; empty: anyone enrolled.")
    liveness: bool = option(True, "Require liveness (passive anti-spoofing AND 3-D motion, not planar, not frozen) to "
                                  "unlock. false: a photo or a screen of an enrolled face unlocks (testing only).")
    liveness_threshold: float = option(DEFAULT_PASSIVE_THRESHOLD, "Mean passive live score needed over the window.")


@dataclass
class FaceStageResult(StageResult):
    faces: list[Face] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    unlocked: str | None = None
    reason: str = ""                   # why locked ("no face", "not live: planar motion", ...) or "unlocked"
    liveness: float | None = None      # mean passive live score of the window; None when liveness is off


@STAGES.register("face", FaceConfig)
class FaceStage(Stage):
    def __init__(self, config: FaceConfig, env: StageEnv):
        super().__init__(config, env)
        self.models = [env.load_model(n) for n in ("face_pnet", "face_rnet", "face_onet", "face_embed")]
        detect_min = detector_min_face(config.min_face)
        self.detector = FaceDetector(*self.models[:3], DetectorParams(min_face=detect_min))
        self.embedder = FaceEmbedder(self.models[3])
        passive = None
        if config.liveness:
            liveness_models = [env.load_model(n) for n in MODEL_NAMES]
            self.models += liveness_models
            passive = PassiveLiveness(liveness_models)
        store = TemplateStore(config.store or default_store_path(), self.embedder.engine.contract.name,
                              dim=self.embedder.dim)
        self.decider = build_decider(store.templates(), config.threshold, config.k, config.n, config.user or None,
                                     config.min_face, passive, config.liveness_threshold)
        self.verifier = self.decider.verifier   # the demo's enrol key updates its templates
        self._was_unlocked: str | None = None
        self._last_refusal = ""

    def run(self, item: Item, results: dict) -> FaceStageResult:
        faces = self.detector.detect(item.data)
        embeddings = self.embedder.embed(item.data, faces)
        matches = [best_match(e, self.verifier.templates) for e in embeddings]
        decision = self.decider.update(item.data, faces, embeddings)
        live = None if decision.liveness is None else round(decision.liveness.score, 3)
        event = {"user": decision.unlocked or decision.match.name, "similarity": round(decision.match.similarity, 3),
                 "liveness": live, "frame": item.seq}
        if decision.unlocked and decision.unlocked != self._was_unlocked:
            why = decision.liveness.reason if decision.liveness else "liveness off"
            self.env.emit("face_unlocked", {**event, "reason": why})
        if decision.identity_ok and not decision.unlocked and decision.reason != self._last_refusal:
            self.env.emit("face_refused", {**event, "reason": decision.reason})
        self._last_refusal = decision.reason if decision.identity_ok else ""
        self._was_unlocked = decision.unlocked
        return FaceStageResult(faces=faces, matches=matches, unlocked=decision.unlocked, reason=decision.reason,
                               liveness=live)

    def engines(self):
        return self.models
