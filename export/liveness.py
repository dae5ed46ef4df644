"""`perceive export liveness`: the two published MiniFASNet passive anti-spoofing models as ONNX with contracts.

Weights: minivision-ai/Silent-Face-Anti-Spoofing (Apache-2.0), read from ../shared/data/real/weights
into our own PyTorch port (training/face/minifasnet.py, strict load). Each model is exported in fp32,
checked against PyTorch, then quantized to static int8; int8 ships only when its real-class
probability stays within MAX_INT8_PROB_DIFF of fp32 on face crops it was not calibrated on.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from export.common import (check_parity, compare_latency, export_onnx, int8_pays, quantize_static_qdq, ship,
                           write_contract)
from export.registry import EXPORTERS
from pipeline.contract import make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.skills.face.liveness import MODEL_NAMES, TASK, context_crop, softmax
from training.face.minifasnet import INPUT_SIZE, NUM_CLASSES, REAL_CLASS, load_published

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
WEIGHTS = REAL_DATA / "weights" / "silent_face_anti_spoofing" / "resources" / "anti_spoof_models"
PUBLISHED = {"face_liveness_v2": "2.7_80x80_MiniFASNetV2.pth", "face_liveness_v1se": "4_0_0_80x80_MiniFASNetV1SE.pth"}
MAX_INT8_PROB_DIFF = 0.05
LABELS = ["spoof_0", "real", "spoof_2"]   # the original project's classes: 1 is real, 0 and 2 are attack kinds
PROVENANCE = {"licence": "Apache-2.0 (minivision-ai/Silent-Face-Anti-Spoofing)",
              "data": "the original project's live/print/replay training set (CelebA-Spoof-like, not published)",
              "command": "perceive export liveness"}


def contract(name: str, variant: str, scale: float, quant: dict, metrics: dict | None = None) -> dict:
    assert LABELS[REAL_CLASS] == "real" and len(LABELS) == NUM_CLASSES
    return {"task": TASK, "name": name, "version": "1.0", "labels": LABELS,
            "image": {"color": "BGR", "layout": "NCHW", "scale": 1.0, "mean": [0.0, 0.0, 0.0],
                      "std": [1.0, 1.0, 1.0], "height": INPUT_SIZE, "width": INPUT_SIZE, "resize": "stretch"},
            "inputs": [{"name": "crop", "shape": ["batch", 3, INPUT_SIZE, INPUT_SIZE], "layout": "NCHW",
                        "example": [1, 3, INPUT_SIZE, INPUT_SIZE]}],
            "outputs": [{"name": "logits", "shape": ["batch", NUM_CLASSES]}],
            "params": {"crop_scale": scale, "variant": variant, "pixels": "0..255, not divided by 255"},
            "quantization": quant, "metrics": metrics or {},
            "provenance": {**PROVENANCE, "weights": f"{PUBLISHED[name]} ({variant}) of Silent-Face-Anti-Spoofing, "
                                                    "loaded strictly into perceive's own PyTorch port"}}


def face_crops(scale: float) -> list[np.ndarray]:
    """80x80 BGR crops at ``scale`` around every face the shipped detector finds in the real stills
    and in frames of the real clips (the calibration and int8 check material)."""
    from export.liveness_data import real_frames
    from pipeline.skills.face.models import load_face_models
    detector, _ = load_face_models(min_face=40)
    crops = []
    for _, _, frame in real_frames():
        crops += [context_crop(frame, f.box, scale, (INPUT_SIZE, INPUT_SIZE)) for f in detector.detect(frame)]
    return crops


def _feeds(crops: list[np.ndarray]) -> list[dict]:
    return [{"crop": c.astype(np.float32).transpose(2, 0, 1)[None].copy()} for c in crops]


def export_one(name: str, out: Path) -> dict:
    model, variant, scale = load_published(WEIGHTS / PUBLISHED[name])
    fp32 = export_onnx(model, (torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE),), out / f"{name}.fp32.onnx", ["crop"],
                       ["logits"], {"crop": {0: "batch"}, "logits": {0: "batch"}})
    feeds = _feeds(face_crops(scale))
    parity = check_parity(model, fp32, feeds[0], atol=1e-3)
    write_contract(fp32, make_contract(contract(name, variant, scale, {"scheme": "none"})))
    calib, held = feeds[::2], feeds[1::2]
    int8 = quantize_static_qdq(fp32, out / f"{name}.onnx", calib)
    write_contract(int8, make_contract(contract(name, variant, scale, {"scheme": "int8-static-qdq"})))
    e32, e8 = Engine(fp32, EngineConfig(warmup_runs=0)), Engine(int8, EngineConfig(warmup_runs=0))
    p32 = np.concatenate([softmax(e32.run(f)["logits"])[:, REAL_CLASS] for f in held])
    p8 = np.concatenate([softmax(e8.run(f)["logits"])[:, REAL_CLASS] for f in held])
    diff = np.abs(p32 - p8)
    latency = compare_latency({"fp32": fp32, "int8": int8}, held[0], runs=100, threads=1)
    ok = int8_pays(float(diff.max()) <= MAX_INT8_PROB_DIFF)
    metrics = {"parity_max_abs_logit": parity, "int8_vs_fp32_real_prob": {
        "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()), "crops": int(len(held)),
        "calibration_crops": len(calib), "shipped": "int8" if ok else "fp32"}, "latency_1_thread": latency["latency"]}
    final_quant = {"scheme": "int8-static-qdq", "calibration": f"{len(calib)} real face crops",
                   "fp32_twin": fp32.name} if ok else {"scheme": "none"}
    shipped = ship(fp32, int8, int8, ok)  # int8 was quantized straight to the shipped name
    write_contract(shipped, make_contract(contract(name, variant, scale, final_quant, metrics)))
    return metrics


@EXPORTERS.register("liveness",
                    "passive anti-spoofing (MiniFASNet V2 + V1SE, Apache-2.0): ONNX, parity, int8 if it keeps accuracy")
def export(checkpoint: str | None, out: Path) -> dict:
    if not WEIGHTS.is_dir():
        raise FileNotFoundError(f"MiniFASNet weights not found in {WEIGHTS} (../shared/data/real)")
    return {name: export_one(name, out) for name in MODEL_NAMES}
