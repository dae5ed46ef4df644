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
