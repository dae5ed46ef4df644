"""Pure OCR pieces: CTC decoding, CER, box geometry, reading order."""
import numpy as np
import pytest

from pipeline.skills.ocr.ctc import cer, edit_distance, greedy_decode
from pipeline.skills.ocr.db import DetectParams, boxes_from_map, core_of
from pipeline.skills.ocr.reader import reading_order, rectify


def onehot(seq, classes=5):
    probs = np.full((len(seq), classes), 0.01)
    probs[np.arange(len(seq)), seq] = 0.96
    return probs


def test_greedy_decode_merges_repeats_and_drops_blanks():
    decoded = greedy_decode(onehot([1, 1, 0, 1, 2, 2, 0, 0, 3]), "abcd")
    assert decoded.text == "aabc" and len(decoded.char_confidences) == 4
    assert decoded.confidence == min(decoded.char_confidences)
    assert greedy_decode(onehot([1, 2, 3]), "abcd", steps=2).text == "ab"  # padded tail ignored


def test_a_long_blank_stretch_between_glyphs_is_a_word_gap():
    from pipeline.skills.ocr.ctc import WORD_GAP_STEPS
    far, near = [1] + [0] * WORD_GAP_STEPS + [2], [1] + [0] * (WORD_GAP_STEPS - 1) + [2]
    spaced = greedy_decode(onehot(far), "ab c")
    assert spaced.text == "a b" and len(spaced.char_confidences) == 3 and spaced.char_confidences[1] < 0.97
    assert greedy_decode(onehot(near), "ab c").text == "ab"
    assert greedy_decode(onehot(far), "ab c", gap_steps=0).text == "ab"
    # a space the model wrote itself is not doubled
    assert greedy_decode(onehot([1, 3] + [0] * WORD_GAP_STEPS + [2]), "ab c").text == "a b"


def test_cer_and_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert cer(["abc", "xy"], ["abd", "xyz"]) == 2 / 6


def test_line_box_survives_the_core_round_trip():
    quad = np.float32([[20, 30], [220, 40], [218, 80], [18, 70]])  # tilted line box
    prob = np.zeros((120, 260), np.float32)
    import cv2
    cv2.fillPoly(prob, [core_of(quad).round().astype(np.int32)], 1.0)
    (found,), (score,) = boxes_from_map(prob, DetectParams())
    assert score > 0.9
    centre_error = np.abs(found.mean(0) - quad.mean(0)).max()
    assert centre_error < 2 and abs(np.linalg.norm(found[1] - found[0]) - np.linalg.norm(quad[1] - quad[0])) < 6


def test_reading_order_is_rows_then_left_to_right():
    def box(x, y):
        return np.float32([[x, y], [x + 50, y], [x + 50, y + 20], [x, y + 20]])
    quads = [box(200, 102), box(10, 10), box(10, 100), box(120, 12)]
    assert reading_order(quads) == [1, 3, 2, 0]


def test_rectify_gives_an_upright_crop_and_refuses_degenerate_boxes():
    frame = np.zeros((100, 200, 3), np.uint8)
    crop = rectify(frame, np.float32([[10, 10], [110, 20], [108, 50], [8, 40]]))
    assert crop.shape[:2] == (30, 100)
    assert rectify(frame, np.float32([[10, 10], [12, 10], [12, 11], [10, 11]])).size == 0


def test_widen_extends_a_tilted_box_along_its_text_direction():
    from pipeline.skills.ocr.reader import widen
    quad = np.float32([[10, 10], [110, 20], [108, 50], [8, 40]])
    out = widen(quad, 0.1)
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    assert np.linalg.norm(out[1] - out[0]) == pytest.approx(np.linalg.norm(quad[1] - quad[0]) + 0.2 * height, rel=1e-4)
    assert np.allclose(out[3] - out[0], quad[3] - quad[0], atol=1e-4)   # height and tilt unchanged


def box(x0, y0, x1, y1):
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_words_split_on_one_row_are_joined_and_separate_lines_are_not():
    from pipeline.skills.ocr.db import merge_rows
    words = [box(100, 50, 160, 80), box(10, 50, 90, 80), box(170, 52, 300, 81)]     # gaps of 1/3 line height
    quads, scores = merge_rows(words, [0.9, 0.8, 1.0], gap=0.5)
    assert len(quads) == 1 and quads[0][:, 0].min() <= 10 and quads[0][:, 0].max() >= 300
    assert isinstance(scores[0], float) and 0.8 < scores[0] < 1.0
    apart = [box(10, 50, 90, 80), box(120, 50, 200, 80),      # a full line height apart, as synthetic lines
             box(10, 90, 90, 120), box(10, 50, 90, 130)]       # the next row; a box twice as tall
    assert len(merge_rows(apart, [0.9] * 4, gap=0.5)[0]) == 4


def test_the_map_gives_one_box_per_row_unless_merging_is_off():
    prob = np.zeros((60, 200), np.float32)
    prob[20:30, 10:60] = prob[20:30, 66:120] = 1.0           # two word cores a small gap apart
    assert len(boxes_from_map(prob, DetectParams(box_threshold=0.5))[0]) == 1
    assert len(boxes_from_map(prob, DetectParams(box_threshold=0.5, merge_gap=0.0))[0]) == 2
