"""Detector scenes: dense paragraphs (stacked lines a little more than a line box apart) in training scenes."""
import numpy as np

from training.ocr.fonts import split_fonts
from training.ocr.scenes import make_scene
from training.ocr.text import TextSampler


def test_paragraph_scenes_stack_close_lines_that_never_overlap():
    fonts, _ = split_fonts()
    sampler, rng = TextSampler(3), np.random.default_rng(3)
    stacked = 0
    for _ in range(12):
        _, quads, texts = make_scene(sampler, fonts, rng, degraded=False, p_paragraph=1.0)
        assert len(quads) == len(texts)
        boxes = sorted((q[:, 1].min(), q[:, 1].max(), q[:, 0].min(), q[:, 0].max()) for q in quads)
        for (t0, b0, l0, r0), (t1, b1, l1, r1) in zip(boxes, boxes[1:]):
            overlap_x = min(r0, r1) > max(l0, l1)
            assert not (overlap_x and t1 < b0), "two labelled lines overlap"
            stacked += overlap_x and 0 <= t1 - b0 <= 0.4 * (b0 - t0)    # the next line within 0.4 line boxes
    assert stacked >= 12     # every paragraph adds several such pairs; scattered lines alone rarely do

