"""Real text-free photos behind the OCR training text (training/ocr/real_backgrounds.py): never an evaluation photo."""
import cv2
import numpy as np
import pytest

from export.ocr_real import SCENES
from training.ocr.real_backgrounds import SKIMAGE_PHOTOS, real_photos
from training.ocr.scenes import SCENE_SIZE, make_scene
from training.ocr.text import TextSampler
from training.ocr.fonts import split_fonts

pytestmark = pytest.mark.torch
SAME_PHOTO = 0.95   # correlation of 48x48 grey thumbnails; distinct photos measured at most 0.78 here; skimage "cat" is the evaluation photo chelsea.png (1.00)


def thumbnail(img: np.ndarray) -> np.ndarray:
    grey = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32)
    grey -= grey.mean()
    return grey.ravel() / (np.linalg.norm(grey) + 1e-6)


def test_no_real_evaluation_photo_is_a_training_background():
    evaluation = sorted(p for p in SCENES.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    assert len(evaluation) >= 50
    assert not {p.stem for p in evaluation} & set(SKIMAGE_PHOTOS)
    ours = np.stack([thumbnail(p) for p in real_photos()])
    theirs = np.stack([thumbnail(cv2.imread(str(p))) for p in evaluation])
    assert (ours @ theirs.T).max() < SAME_PHOTO


def test_real_photo_scenes_hold_text_free_and_text_scenes_with_boxes_inside():
    rng, sampler = np.random.default_rng(3), TextSampler(3)
    fonts, _ = split_fonts()
    counts = []
    for _ in range(20):
        image, quads, texts = make_scene(sampler, fonts, rng, True, real_fraction=1.0)
        assert image.shape[:2] == SCENE_SIZE and len(quads) == len(texts)
        for q in quads:
            assert (q.min(axis=0) > -20).all() and (q.max(axis=0) < np.array(SCENE_SIZE[::-1]) + 20).all()
        counts.append(len(quads))
    assert 0 in counts and max(counts) >= 3
