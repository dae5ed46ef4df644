"""Loading the face models by name (face_pnet, face_rnet, face_onet, face_embed)."""
from __future__ import annotations

from pipeline.engine import Engine, EngineConfig
from pipeline.skills.face.detector import DetectorParams, FaceDetector
from pipeline.skills.face.embedder import FaceEmbedder
from pipeline.runtime.stage import resolve_model


def load_face_models(config: EngineConfig | None = None, dirs: list[str] | None = None,
                     min_face: int = 40, loader=None) -> tuple[FaceDetector, FaceEmbedder]:
    load = loader or (lambda name: Engine(resolve_model(name, dirs or []), config or EngineConfig()))
    detector = FaceDetector(load("face_pnet"), load("face_rnet"), load("face_onet"), DetectorParams(min_face=min_face))
    return detector, FaceEmbedder(load("face_embed"))
