"""The real face photos available offline, and the chip template derived from dlib's own alignment."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from pipeline.engine import Engine, EngineConfig
from pipeline.skills.face.align import align
from pipeline.skills.face.detector import DetectorParams, FaceDetector

LFW_UPSCALE = 100     # lfw_subset crops are 25x25: upscaled so that faces are unlock-sized
LFW_CANVAS = 200      # and padded, because MTCNN needs some context around a face
CHIP_CANVAS = 260     # a dlib chip is padded the same way before our detector looks at it


def real_faces() -> dict[str, np.ndarray]:
    """name -> RGB uint8 image: scikit-image's astronaut, matplotlib's Grace Hopper, and the
    100 face crops of scikit-image's lfw_subset (upscaled and padded)."""
    import matplotlib
    import skimage.data
    faces = {"astronaut": skimage.data.astronaut()}
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if hopper.exists():
        faces["grace_hopper"] = cv2.cvtColor(cv2.imread(str(hopper)), cv2.COLOR_BGR2RGB)
    lfw = skimage.data.lfw_subset()[:100]  # the first 100 of lfw_subset are faces
    for i, crop in enumerate(lfw):
        big = cv2.resize((crop * 255).astype(np.uint8), (LFW_UPSCALE, LFW_UPSCALE), interpolation=cv2.INTER_CUBIC)
        pad = (LFW_CANVAS - LFW_UPSCALE) // 2
        canvas = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        faces[f"lfw_{i:03d}"] = cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB)
    return faces


def variants(rgb: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Other 'captures' of the same photo: mirrored, lit differently, slightly turned and scaled."""
    h, w = rgb.shape[:2]
    out = [cv2.flip(rgb, 1)]
    for _ in range(3):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-8, 8), rng.uniform(0.85, 1.1))
        img = cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        out.append(np.clip(img * rng.uniform(0.7, 1.3) + rng.uniform(-20, 20), 0, 255).astype(np.uint8))
    return out


def detector_from(paths: list[Path], min_face: int = 40) -> FaceDetector:
    cfg = EngineConfig(warmup_runs=0)
    return FaceDetector(*(Engine(p, cfg) for p in paths), DetectorParams(min_face=min_face))


def largest(faces):
    return max(faces, key=lambda f: f.size) if faces else None


def landmark_template(faces: dict, detector_paths: list[Path], dlib_model_path) -> tuple[np.ndarray, dict]:
    """Where our 5 landmarks fall in dlib's 150x150 chip, averaged over real faces: our detector
    runs on the chips dlib itself cuts, so our alignment reproduces dlib's."""
    import dlib
    predictor = dlib.shape_predictor(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    hog = dlib.get_frontal_face_detector()
    detector = detector_from(detector_paths, min_face=60)
    points, used = [], []
    for name, rgb in faces.items():
        rects = hog(rgb, 1)
        if len(rects) != 1:
            continue
        chip = dlib.get_face_chip(rgb, predictor(rgb, rects[0]), size=150, padding=0.25)
        pad = (CHIP_CANVAS - 150) // 2
        canvas = cv2.copyMakeBorder(chip, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        face = largest(detector.detect(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)))
        if face is not None:
            points.append(face.landmarks - pad)
            used.append(name)
    if len(points) < 3:
        raise RuntimeError(f"only {len(points)} faces usable for the alignment template")
    pts = np.array(points)
    return pts.mean(0), {"faces": len(used), "spread_px": float(pts.std(0).mean()),
                         "method": "mean of our landmarks on dlib's own 150x150 chips (padding 0.25)"}


def aligned_chips(faces: dict, detector_paths: list[Path], template: np.ndarray, min_face: int = 40) -> dict:
    """name -> (RGB chip aligned by our detector and template, the face), for faces found alone."""
    detector = detector_from(detector_paths, min_face)
    out = {}
    for name, rgb in faces.items():
        found = detector.detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if len(found) == 1:
            out[name] = (align(rgb, found[0].landmarks, template, 150), found[0])
    return out
