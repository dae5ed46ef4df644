"""The shipped passive liveness models: contract, parity with our PyTorch port, and the original samples."""
import cv2
import numpy as np
import pytest

from export.liveness import PUBLISHED, WEIGHTS
from export.liveness_data import FACES
from pipeline.engine import Engine, EngineConfig
from pipeline.skills.face.liveness import MODEL_NAMES, PassiveLiveness, context_crop, softmax
from pipeline.runtime.stage import resolve_model

SAMPLES = FACES / "silent_face_anti_spoofing" / "images" / "sample"
needs_weights = pytest.mark.skipif(not WEIGHTS.is_dir(), reason=f"MiniFASNet weights not in {WEIGHTS} "
                                                                "(../shared/data/real is absent)")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} absent (../shared/data/real)")
PARITY_ATOL = 1e-3       # fp32 logits, ONNX Runtime vs PyTorch (measured 3e-6 at export)


def engine(name):
    return Engine(resolve_model(name, []), EngineConfig(warmup_runs=0))


@pytest.mark.parametrize("name,scale", [("face_liveness_v2", 2.7), ("face_liveness_v1se", 4.0)])
def test_contract_says_what_the_runtime_needs(name, scale):
    c = engine(name).contract
    assert c.task == "face_liveness" and c.labels[1] == "real"
    assert c.image.color == "BGR" and c.image.scale == 1.0 and (c.image.height, c.image.width) == (80, 80)
    assert c.params["crop_scale"] == scale
    assert "Apache-2.0" in c.provenance.licence and "Silent-Face-Anti-Spoofing" in c.provenance.weights


@needs_weights
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_onnx_matches_our_pytorch_port(name):
    import torch
    from training.face.minifasnet import load_published
    torch.set_num_threads(1)
    model, _, _ = load_published(WEIGHTS / PUBLISHED[name])
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (4, 3, 80, 80)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(crops)).numpy()
    out = engine(name).run({"crop": crops})["logits"]
    assert np.abs(out - ref).max() < PARITY_ATOL


@needs_samples
def test_the_original_projects_samples_are_told_apart(models):
    """image_T1 is a live face, image_F1 a printed photo, image_F2 a phone screen (the project's own samples)."""
    detector, _ = models
    passive = PassiveLiveness([engine(n) for n in MODEL_NAMES])
    scores = {}
    for name in ("image_T1", "image_F1", "image_F2"):
        frame = cv2.imread(str(SAMPLES / f"{name}.jpg"))
        faces = detector.detect(frame)
        assert len(faces) == 1
        scores[name] = float(passive.scores(frame, faces)[0])
    assert scores["image_T1"] > 0.9
    assert scores["image_F1"] < 0.3 and scores["image_F2"] < 0.1, scores


def test_crop_is_the_scaled_box_stretched_to_the_input():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200:240, 300:340] = 255                  # the "face" box, white
    crop = context_crop(frame, np.array([300, 200, 340, 240]), 2.0, (80, 80))
    assert crop.shape == (80, 80, 3)
    assert crop[40, 40].min() == 255 and crop[5, 5].max() == 0   # face in the middle, context around it
    assert np.allclose(softmax(np.array([[0.0, 0.0]])), 0.5)


def test_unlock_refuses_an_impossible_window_in_one_line():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "unlock", "-k", "4", "-n", "3",
                          "--video", "nothing.avi"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["perceive: error: -k 4 -n 3: need 1 <= k <= n"]
