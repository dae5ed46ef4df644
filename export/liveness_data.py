"""The real faces of ../shared/data/real, labelled by person, and the split by person used for liveness.

Split rule (fixed before any measurement): a person is TUNE or HELD-OUT as a whole, with all their
stills and clips. Tune: Obama (most stills: the identity threshold needs genuine pairs), Lin-Manuel
Miranda, and the signers ASL-A, ASL-B, ASL-C. Held out: Biden, Alex Lacamoire, ASL-D, ASL-E. The
Hamilton clip (several cast members, faces not labelled) and the anti-spoofing samples (SF women
A-C) are used for neither tuning nor held-out figures, only for int8 calibration crops.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
FACES = REAL_DATA / "faces"
FR = "face_recognition/examples"
STILLS = {  # path under faces/ -> person (one visible face each)
    f"{FR}/obama.jpg": "Obama", f"{FR}/obama2.jpg": "Obama", f"{FR}/obama-720p.jpg": "Obama",
    f"{FR}/knn_examples/test/obama1.jpg": "Obama", "face_recognition/tests/test_images/obama3.jpg": "Obama",
    f"{FR}/obama_small.jpg": "Obama",
    f"{FR}/biden.jpg": "Biden", f"{FR}/knn_examples/train/biden/biden2.jpg": "Biden",
    f"{FR}/alex-lacamoire.png": "Alex Lacamoire", f"{FR}/knn_examples/test/alex_lacamoire1.jpg": "Alex Lacamoire",
    f"{FR}/knn_examples/train/alex_lacamoire/img1.jpg": "Alex Lacamoire",
    f"{FR}/lin-manuel-miranda.png": "Lin-Manuel Miranda",
}
ASL = {"again": "A", "brother": "A", "help": "A", "no": "A", "student": "A", "yes": "A",
       "bird": "B", "milk": "B", "please": "B", "sorry": "B", "thanks": "B",
       "book": "C", "learn": "C", "school": "C", "walk": "C",
       "eat": "D", "night": "D", "sister": "D", "hungry": "E", "want": "E"}
CLIPS = {f"intel_sample_videos/asl_gestures/{w}.mkv": f"ASL-{p}" for w, p in ASL.items()}
OTHER = ["silent_face_anti_spoofing/images/sample/image_T1.jpg", "silent_face_anti_spoofing/images/sample/image_F1.jpg",
         "silent_face_anti_spoofing/images/sample/image_F2.jpg", f"{FR}/short_hamilton_clip.mp4"]
TUNE = {"Obama", "Lin-Manuel Miranda", "ASL-A", "ASL-B", "ASL-C"}
HELD_OUT = {"Biden", "Alex Lacamoire", "ASL-D", "ASL-E"}
FRAME_W, FRAME_H = 640, 480
CLIP_STEP = 10     # every 10th frame of a clip for crop material


def available() -> bool:
    return FACES.is_dir()


def fit_frame(image: np.ndarray) -> np.ndarray:
    """Scaled down (never up) to fit 640x480, the unlock camera's frame."""
    h, w = image.shape[:2]
    s = min(FRAME_W / w, FRAME_H / h, 1.0)
    return image if s == 1.0 else cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def read_still(rel: str) -> np.ndarray:
    image = cv2.imread(str(FACES / rel), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(FACES / rel)
    return fit_frame(image)


def read_clip(rel: str, limit: int | None = None) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(FACES / rel))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(fit_frame(frame))
    cap.release()
    return frames


def stills_of(persons: set[str]) -> dict[str, np.ndarray]:
    return {rel: read_still(rel) for rel, p in STILLS.items() if p in persons}


def real_frames(step: int = CLIP_STEP) -> Iterator[tuple[str, str, np.ndarray]]:
    """(person, source, BGR frame): every still and every ``step``-th frame of every clip."""
    for rel, person in STILLS.items():
        yield person, rel, read_still(rel)
    for rel in OTHER:
        if rel.endswith(".jpg"):
            yield "other", rel, read_still(rel)
    for rel, person in {**CLIPS, OTHER[-1]: "other"}.items():
        for i, frame in enumerate(read_clip(rel)[::step]):
            yield person, f"{rel}#{i * step}", frame
