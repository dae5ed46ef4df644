"""The OCR reader's steps as pure functions: preprocess, infer, postprocess for each of its two models.

``OcrReader`` (the stage, `perceive ocr`, the demo) and `perceive export ocr-det/ocr-rec` call these same
functions, so the figures export writes into a model card are measured on the path that runs.

    detector:    frame --detector_input--> tensor --text_map--> probability map --boxes_in_frame--> line boxes
    recogniser:  crops --line_to_gray--> gray lines --(by width, REC_BATCH at a time) batch_lines--> logits
                 --greedy_decode--> text and per-character confidences
"""
from __future__ import annotations

import numpy as np

from pipeline.contract import ImageSpec
from pipeline.engine import Engine
from pipeline.skills.ocr.ctc import Decoded, greedy_decode, softmax
from pipeline.skills.ocr.db import DetectParams, boxes_from_map
from pipeline.skills.ocr.preprocess import WIDTH_MULTIPLE, batch_lines, detector_input, line_to_gray

REC_BATCH = 16          # crops per recogniser call; crops are sorted by width first (less padding)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-logits))


def text_map(detector: Engine, tensor: np.ndarray) -> np.ndarray:
    """Infer: the detector's text-core probability map (H/stride x W/stride) for one input tensor."""
    logits = next(iter(detector.run({detector.inputs[0].name: tensor}).values()))[0, 0]
    return sigmoid(logits)


def detector_map(detector: Engine, frame: np.ndarray, spec: ImageSpec, long_side: int,
                 stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Preprocess + infer: a frame's probability map, and the (x, y) scale from map to frame pixels."""
    tensor, sx, sy = detector_input(frame, spec, long_side)
    return text_map(detector, tensor), np.array([stride / sx, stride / sy], np.float32)


def boxes_in_frame(prob: np.ndarray, scale: np.ndarray, params: DetectParams) -> tuple[list[np.ndarray], list[float]]:
    """Postprocess: line boxes (4x2, frame pixels) and their mean probabilities."""
    quads, scores = boxes_from_map(prob, params)
    return [q * scale for q in quads], scores


def recognise_crops(recogniser: Engine, crops: list[np.ndarray], spec: ImageSpec, alphabet: str,
                    max_width: int) -> list[Decoded]:
    """Preprocess + infer + postprocess: the decoded line of each BGR/gray crop, in the crops' order."""
    grays = [line_to_gray(c, spec.height, max_width) for c in crops]
    out: list[Decoded] = [None] * len(grays)  # type: ignore[list-item]
    name = recogniser.inputs[0].name
    order = np.argsort([g.shape[1] for g in grays])
    for start in range(0, len(order), REC_BATCH):
        idx = order[start:start + REC_BATCH]
        logits = next(iter(recogniser.run({name: batch_lines([grays[i] for i in idx], spec)}).values()))
        for i, lg in zip(idx, logits):
            steps = grays[i].shape[1] // WIDTH_MULTIPLE  # ignore the padded tail
            out[i] = greedy_decode(softmax(lg), alphabet, steps)
    return out
