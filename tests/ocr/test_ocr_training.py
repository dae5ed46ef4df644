"""CI smoke-trains both OCR models for a few steps on tiny generated data; export must work."""
import json
import subprocess
import sys

import pytest

from pipeline.engine import Engine

pytestmark = pytest.mark.torch


def perceive(*args):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *args], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_recogniser_smoke_train_and_export(tmp_path):
    data = tmp_path / "lines"
    out = json.loads(perceive("train", "ocr-rec", "--out", str(tmp_path / "runs"), "--set", f"data_dir='{data}'",
                              "--set", "train_lines=256", "--set", "eval_lines=16", "--set", "steps=40",
                              "--set", "eval_every=20", "--set", "batch=16"))
    assert out["last_loss"] < out["first_loss"]
    run = tmp_path / "runs" / out["run"].split("/")[-1]
    perceive("export", "ocr-rec", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "m"))
    engine = Engine(tmp_path / "m" / "ocr_rec.onnx")
    assert engine.contract.task == "ocr_rec" and len(engine.contract.alphabet) == 95
    assert engine.example_feeds({"width": 200})["image"].shape == (1, 1, 32, 200)  # dynamic width


def test_detector_smoke_train_and_export(tmp_path):
    data = tmp_path / "scenes"
    out = json.loads(perceive("train", "ocr-det", "--out", str(tmp_path / "runs"), "--set", f"data_dir='{data}'",
                              "--set", "train_scenes=12", "--set", "eval_scenes=3", "--set", "steps=40",
                              "--set", "eval_every=20", "--set", "batch=2", "--set", "crop=128"))
    assert out["last_loss"] < out["first_loss"]
    run = tmp_path / "runs" / out["run"].split("/")[-1]
    perceive("export", "ocr-det", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "m"))
    assert Engine(tmp_path / "m" / "ocr_det.onnx").contract.params["long_side"] == 640


def test_detector_hard_negative_mining_and_warm_started_second_run(tmp_path):
    """Mining writes text-free scenes in the scene-set format; a second run starts from the first
    run's weights and mixes mined negatives into its batches."""
    import cv2
    import numpy as np
    from training.ocr.det_mining import mining_photos, random_view
    common = ["--set", f"data_dir='{tmp_path / 'scenes'}'", "--set", "train_scenes=8", "--set", "eval_scenes=2",
              "--set", "steps=20", "--set", "eval_every=20", "--set", "batch=2", "--set", "crop=128"]
    first = json.loads(perceive("train", "ocr-det", "--out", str(tmp_path / "runs"), *common))
    checkpoint = tmp_path / "runs" / first["run"].split("/")[-1] / "checkpoint.pt"
    mined = tmp_path / "mined"
    proc = subprocess.run([sys.executable, "-m", "training.ocr.det_mining", "--checkpoint", str(checkpoint),
                           "--out", str(mined), "--tries", "3"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report, labels = json.loads(proc.stdout), json.loads((mined / "labels.json").read_text())
    assert report["tries"] == 3 and report["kept"] == len(labels) <= 3
    assert all(item["quads"] == [] and (mined / item["file"]).is_file() for item in labels)
    # the smoke detector may keep none of 3 views: the second run gets views written the same way
    negatives = tmp_path / "negatives"
    negatives.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(negatives / f"{i}.jpg"), random_view(mining_photos(), rng))
    (negatives / "labels.json").write_text(json.dumps([{"file": f"{i}.jpg", "quads": [], "texts": []}
                                                       for i in range(3)]))
    second = json.loads(perceive("train", "ocr-det", "--out", str(tmp_path / "runs2"), *common,
                                 "--set", f"init='{checkpoint}'", "--set", f"negatives='{negatives}'",
                                 "--set", "negative_share=0.5", "--set", "lr=1e-9"))
    assert second["negative_crops"] > 0
    # at a learning rate of 1e-9 a warm-started run keeps the first run's weights; from the seed's random
    # weights (which the first run moved by more than 1e-3) it could not
    import torch
    before, after = (torch.load(p, map_location="cpu", weights_only=False)["model"] for p in
                     (checkpoint, tmp_path / "runs2" / second["run"].split("/")[-1] / "checkpoint.pt"))
    weights = [k for k in before if k.endswith("weight")]
    assert max(float((before[k] - after[k]).abs().max()) for k in weights) < 1e-5
