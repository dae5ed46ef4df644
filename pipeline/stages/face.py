"""The ``face`` stage: detect, align, embed and verify every frame; events on recognition and unlock."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.config.loader import option
from pipeline.face.detector import DetectorParams, Face, FaceDetector
from pipeline.face.embedder import FaceEmbedder
from pipeline.face.store import TemplateStore, default_store_path
from pipeline.face.verify import DEFAULT_THRESHOLD, Match, Verifier, best_match
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item


@dataclass(kw_only=True)
class FaceConfig(StageConfig):
    store: str = option("", "Enrolled templates (JSON); empty uses $STATE_DIRECTORY/faces.json or ~/.local/share.")
    min_face: int = option(60, "Smallest face, in pixels, the detector looks for (larger is faster).")
    threshold: float = option(DEFAULT_THRESHOLD, "Cosine similarity needed for a match.")
    k: int = option(3, "Matching frames needed ...")
    n: int = option(5, "... among the last n frames to unlock.")
    user: str = option("", "Only this enrolled person can unlock; empty: anyone enrolled.")


@dataclass
class FaceStageResult(StageResult):
    faces: list[Face] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    unlocked: str | None = None


@STAGES.register("face", FaceConfig)
class FaceStage(Stage):
    def __init__(self, config: FaceConfig, env: StageEnv):
        super().__init__(config, env)
        self.models = [env.load_model(n) for n in ("face_pnet", "face_rnet", "face_onet", "face_embed")]
        self.detector = FaceDetector(*self.models[:3], DetectorParams(min_face=config.min_face))
        self.embedder = FaceEmbedder(self.models[3])
        store = TemplateStore(config.store or default_store_path(), self.embedder.engine.contract.name,
                              dim=self.embedder.dim)
        self.verifier = Verifier(store.templates(), config.threshold, config.k, config.n, config.user or None)
        self._was_unlocked: str | None = None

    def run(self, item: Item, results: dict) -> FaceStageResult:
        faces = self.detector.detect(item.data)
        embeddings = self.embedder.embed(item.data, faces)
        matches = [best_match(e, self.verifier.templates) for e in embeddings]
        best, unlocked = self.verifier.update(embeddings if len(faces) else np.zeros((0, 128), np.float32))
        if unlocked and unlocked != self._was_unlocked:
            self.env.emit("face_unlocked", {"user": unlocked, "similarity": round(best.similarity, 3),
                                            "frame": item.seq})
        self._was_unlocked = unlocked
        return FaceStageResult(faces=faces, matches=matches, unlocked=unlocked)

    def engines(self):
        return self.models
