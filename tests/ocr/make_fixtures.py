"""Writes tests/ocr/fixtures: clean and camera-degraded scenes in held-out font families (seeded).

Run: python -m tests.ocr.make_fixtures. The scenes never appear in training data (other seeds,
font families held out of training); labels.json holds the ground truth.
"""
import json
from pathlib import Path

import cv2
import numpy as np

from training.ocr.fonts import split_fonts
from training.ocr.scenes import make_scene
from training.ocr.text import TextSampler

OUT = Path(__file__).parent / "fixtures"
SCENES = {"clean_0": (900, False), "clean_1": (901, False), "clean_2": (902, False), "camera_0": (910, True)}


def main() -> None:
    _, held = split_fonts()
    labels = {}
    for name, (seed, degraded) in SCENES.items():
        image, quads, texts = make_scene(TextSampler(seed), held, np.random.default_rng(seed), degraded)
        cv2.imwrite(str(OUT / f"{name}.png"), image)
        labels[name] = {"texts": texts, "quads": [q.round(1).tolist() for q in quads]}
    (OUT / "labels.json").write_text(json.dumps(labels, indent=1))


if __name__ == "__main__":
    main()
