"""Tiny training runs: the loss falls, and export + quantization give models with valid contracts."""
import json
import subprocess
import sys

import pytest

from pipeline.engine import Engine

pytestmark = pytest.mark.torch


def perceive(*args):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *args], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def train(name, tmp_path, *sets):
    out = perceive("train", name, "--out", str(tmp_path / "runs"), *[a for s in sets for a in ("--set", s)])
    return json.loads(out)


def test_har_smoke_train_and_export(tmp_path):
    metrics = train("har", tmp_path, "epochs=6", "limit_train=12", "hidden=16", "conv=8")
    assert metrics["last_loss"] < metrics["first_loss"]
    run = tmp_path / "runs" / metrics["run"].split("/")[-1]
    assert (run / "config.json").exists() and (run / "curves.png").exists() and (run / "confusion.png").exists()
    assert json.loads((run / "config.json").read_text())["epochs"] == 6  # resolved config saved with the run
    perceive("export", "har", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "models"))
    engine = Engine(tmp_path / "models" / "har.onnx")
    assert engine.contract.task == "har" and engine.contract.sensor.window == 100
    assert (tmp_path / "models" / "har.md").exists()


def test_anomaly_smoke_train_and_export(tmp_path):
    metrics = train("anomaly", tmp_path, "steps=100", "hidden=8")
    assert metrics["last_l1"] < metrics["first_l1"]
    run = tmp_path / "runs" / metrics["run"].split("/")[-1]
    assert (run / "scores.png").exists()
    perceive("export", "anomaly", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "models"))
    engine = Engine(tmp_path / "models" / "anomaly.onnx")
    assert engine.contract.state == {"h0": "hn", "c0": "cn"}
    assert engine.contract.params["threshold"] > 0
