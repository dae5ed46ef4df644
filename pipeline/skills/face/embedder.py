"""Face chips and embeddings: align by the model contract's landmark template, embed, L2-normalise."""
from __future__ import annotations

import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.skills.face.align import align
from pipeline.skills.face.detector import Face
from pipeline.preprocess.image import convert_color, normalize


class FaceEmbedder:
    def __init__(self, engine: Engine):
        c = engine.contract
        if c is None or c.task != "face_embed" or "landmark_template" not in c.params:
            raise ContractError(f"{engine.path.name}: not a face_embed model with a landmark template")
        self.engine, self.spec = engine, c.image
        self.template = np.asarray(c.params["landmark_template"], np.float32)
        self.size = int(c.params["chip_size"])
        self.input = engine.inputs[0].name
        self.dim = int(engine.outputs[0].shape[-1])  # the embedding length, fixed in the graph

    def chip(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        """The aligned chip in the model's colour order (uint8, size x size x 3)."""
        return align(convert_color(frame_bgr, self.spec.color), face.landmarks, self.template, self.size)

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        batch = np.concatenate([normalize(c, self.spec) for c in chips])
        out = next(iter(self.engine.run({self.input: batch}).values()))
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed(self, frame_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        return self.embed_chips([self.chip(frame_bgr, f) for f in faces])
