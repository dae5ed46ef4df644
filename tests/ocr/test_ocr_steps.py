"""The reader's pure steps (pipeline/skills/ocr/steps.py): what OcrReader runs is what export measures.

fp32 twins and checked-in fixtures, so the figures are the same on every CPU.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.skills.ocr.ctc import cer
from pipeline.skills.ocr.reader import OcrReader, rectify
from pipeline.skills.ocr.steps import REC_BATCH, boxes_in_frame, detector_map, recognise_crops, sigmoid
from pipeline.runtime.stage import SHIPPED_MODELS, shipped_model

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = json.loads((FIXTURES / "labels.json").read_text())
MAX_RAW_CER = 0.25  # measured at most 0.2: one edit in five characters ("$365 ." for "$365.")


@pytest.fixture(scope="module")
def reader():
    return OcrReader(Engine(SHIPPED_MODELS / "ocr_det.fp32.onnx"), Engine(shipped_model("ocr_rec", ".fp32.onnx")))


def labelled_crops():
    """Every labelled line of the clean fixtures, cut with its true box: (crop, text)."""
    out = []
    for name, truth in LABELS.items():
        if not name.startswith("clean"):
            continue
        frame = cv2.imread(str(FIXTURES / f"{name}.png"))
        out += [(rectify(frame, np.float32(q)), t) for q, t in zip(truth["quads"], truth["texts"])]
    return out


def test_sigmoid_is_the_logistic_function():
    assert sigmoid(np.array([0.0, 40.0, -40.0])) == pytest.approx([0.5, 1.0, 0.0])


def test_reader_detect_is_the_steps_composed(reader):
    frame = cv2.imread(str(FIXTURES / "clean_1.png"))
    prob, scale = detector_map(reader.detector, frame, reader.det_spec, reader.long_side, reader.stride)
    assert prob.min() >= 0 and prob.max() <= 1 and prob.shape == (frame.shape[0] // reader.stride,
                                                                     frame.shape[1] // reader.stride)
    quads, scores = boxes_in_frame(prob, scale, reader.params)
    again, again_scores = reader.detect(frame)
    assert len(quads) == len(again) >= 1 and scores == again_scores
    assert all(np.array_equal(a, b) for a, b in zip(quads, again))


def test_recognise_crops_reads_the_lines_and_keeps_their_order(reader):
    crops, texts = zip(*labelled_crops())
    rc = reader.recogniser.contract
    repeats = REC_BATCH // len(crops) + 2  # more than one batch: sorting by width must not reorder the output
    decoded = recognise_crops(reader.recogniser, list(crops) * repeats, rc.image, rc.alphabet, reader.max_width)
    # each output is its own line's text (raw decode: true boxes without the reader's margin, no trimming)
    assert all(cer([d.text], [t]) <= MAX_RAW_CER for d, t in zip(decoded, list(texts) * repeats))
    assert [d.text for d in reader.recognise(list(crops))] == [d.text for d in decoded[:len(crops)]]
