"""`perceive export har` / `perceive export anomaly`: sensor models to ONNX + int8, checked and carded.

Both LSTMs are quantized dynamically (LSTM/MatMul/Gemm only; the HAR conv front-end
stays fp32 because dynamic ConvInteger is slow on this CPU). The int8 file ships only
when its accuracy matches fp32 on the held-out data; otherwise the fp32 file ships.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from export.common import (check_parity, compare_latency, export_onnx, int8_pays, load_checkpoint,
                           quantize_dynamic_rnn, ship, write_contract, write_model_card)
from export.registry import EXPORTERS
from pipeline.config.loader import to_dict
from pipeline.contract import SensorSpec, make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.skills.sensor.activity import ActivityRecognizer
from pipeline.skills.sensor.anomaly import AnomalyDetector
from training.sensor import anomaly as anomaly_train
from training.sensor import har as har_train
from training.sensor.data import HAR_PROVENANCE, load_anomaly_series, load_basic_motions

LATENCY_RUNS = 300


def _har_model(cfg, ckpt):
    return har_train.build_model(cfg, 6, len(ckpt["labels"]))


@EXPORTERS.register("har", "activity model: ONNX + int8, accuracy on the BasicMotions test split")
def export_har(checkpoint: str | None, out: Path) -> dict:
    cfg, model, ckpt = load_checkpoint(checkpoint, har_train, "har", _har_model)
    spec = SensorSpec(**ckpt["sensor"])
    fp32 = export_onnx(model, (torch.zeros(2, cfg.window, 6),), out / "har.fp32.onnx", ["imu"], ["logits"],
                       {"imu": {0: "batch", 1: "time"}, "logits": {0: "batch"}})
    test_x, test_y, labels = load_basic_motions("test")
    parity = check_parity(model, fp32, {"imu": np.stack([normalize(w, spec) for w in test_x[:4]])})
    int8 = quantize_dynamic_rnn(fp32, out / "har.int8.onnx")
    metrics = {"fp32": {}, "int8": {}}
    base = {"task": "har", "name": "har-lstm", "version": "1.0", "labels": labels, "sensor": to_dict(spec),
            "inputs": [{"name": "imu", "shape": ["batch", "time", 6], "layout": "NTC",
                        "example": [1, cfg.window, 6]}],
            "outputs": [{"name": "logits", "shape": ["batch", len(labels)]}],
            "provenance": {"weights": "trained by perceive", "licence": "Apache-2.0", "data": HAR_PROVENANCE,
                           "command": "perceive train har && perceive export har --checkpoint RUN/checkpoint.pt"}}
    for variant, path, scheme in (("fp32", fp32, "none"), ("int8", int8, "int8-dynamic")):
        write_contract(path, make_contract({**base, "quantization": {"scheme": scheme, "fp32_twin": fp32.name}}))
        rec = ActivityRecognizer(Engine(path, EngineConfig(warmup_runs=0)))
        pred = np.array([rec.classify(w[-cfg.window:]).argmax() for w in test_x])
        metrics[variant] = {"test_accuracy": float((pred == test_y).mean()), "test_windows": len(test_y)}
    latency = compare_latency({"fp32": fp32, "int8": int8}, {"imu": np.zeros((1, cfg.window, 6), np.float32)},
                              runs=LATENCY_RUNS)
    keep_int8 = int8_pays(metrics["int8"]["test_accuracy"] >= metrics["fp32"]["test_accuracy"], latency)
    shipped_scheme = "int8-dynamic" if keep_int8 else "none"
    final = {**base, "quantization": {"scheme": shipped_scheme, "fp32_twin": fp32.name if keep_int8 else ""},
             "metrics": {"basicmotions_test": metrics, "training": _training_metrics(ckpt), "parity_max_abs": parity}}
    shipped = ship(fp32, int8, out / fp32.name.replace(".fp32", ""), keep_int8)
    write_contract(shipped, make_contract(final))
    if keep_int8:
        write_contract(fp32, make_contract({**final, "quantization": {"scheme": "none"}}))
    write_model_card(out / "har.md", make_contract(final), {
        "Accuracy (BasicMotions standard test split, 40 recordings, never used in training)": metrics,
        "Training": _training_metrics(ckpt), "Latency (one 100-sample window)": latency,
        "Streaming": f"window {cfg.window} samples ({cfg.window / spec.sample_rate_hz:.0f} s), hop {cfg.hop}; "
                     "probabilities smoothed by an exponential moving average; an event when the leading "
                     "activity changes."})
    return {"shipped": str(shipped), "metrics": metrics, "latency": latency["latency"], "parity": parity}


def normalize(window: np.ndarray, spec: SensorSpec) -> np.ndarray:
    from pipeline.skills.sensor.preprocess import normalize_window
    return normalize_window(window, spec)[0]


def _training_metrics(ckpt: dict) -> dict:
    keep = ("cv_accuracy", "test_accuracy", "first_loss", "last_loss", "first_l1", "last_l1")
    return {k: v for k, v in ckpt.get("metrics", {}).items() if k in keep}


def _stream_scores(path: Path, values: np.ndarray, hop: int) -> np.ndarray:
    detector = AnomalyDetector(Engine(path, EngineConfig(warmup_runs=0)))
    return np.concatenate([detector.push(values[i:i + hop]).scores for i in range(0, len(values), hop)])


@EXPORTERS.register("anomaly", "streaming anomaly forecaster: ONNX + int8, F1 vs z-score")
def export_anomaly(checkpoint: str | None, out: Path) -> dict:
    cfg, model, ckpt = load_checkpoint(checkpoint, anomaly_train, "anomaly")
    m = ckpt["metrics"]
    series = load_anomaly_series(cfg.series)
    example = (torch.zeros(2, cfg.hop, 1), *anomaly_train.zero_state(cfg, 2))
    state_axes = {1: "batch"}
    fp32 = export_onnx(model, example, out / "anomaly.fp32.onnx", ["x", "h0", "c0"], ["forecast", "hn", "cn"],
                       {"x": {0: "batch", 1: "time"}, "forecast": {0: "batch", 1: "time"},
                        "h0": state_axes, "c0": state_axes, "hn": state_axes, "cn": state_axes})
    feeds = {"x": np.random.default_rng(0).standard_normal((3, 40, 1)).astype(np.float32),
             "h0": np.zeros((cfg.layers, 3, cfg.hidden), np.float32),
             "c0": np.zeros((cfg.layers, 3, cfg.hidden), np.float32)}
    parity = check_parity(model, fp32, feeds)
    int8 = quantize_dynamic_rnn(fp32, out / "anomaly.int8.onnx")
    state_shape = [cfg.layers, "batch", cfg.hidden]
    base = {"task": "anomaly", "name": f"anomaly-lstm-{cfg.series}", "version": "1.0",
            "sensor": {"channels": ["value"], "sample_rate_hz": series.rate_hz, "window": cfg.hop, "hop": cfg.hop},
            "inputs": [{"name": "x", "shape": ["batch", "time", 1], "layout": "NTC", "example": [1, cfg.hop, 1]},
                       {"name": "h0", "shape": state_shape, "example": [cfg.layers, 1, cfg.hidden]},
                       {"name": "c0", "shape": state_shape, "example": [cfg.layers, 1, cfg.hidden]}],
            "outputs": [{"name": "forecast", "shape": ["batch", "time", 1]},
                        {"name": "hn", "shape": state_shape}, {"name": "cn", "shape": state_shape}],
            "state": {"h0": "hn", "c0": "cn"},
            "params": {"error_scale": m["error_scale"], "threshold": m["threshold"], "smooth": cfg.smooth,
                       "difference": cfg.difference, "mean": m["mean"], "std": m["std"], "margin": cfg.margin},
            "provenance": {"weights": "trained by perceive", "licence": "Apache-2.0", "data": series.provenance,
                           "command": f"perceive train anomaly --set series={cfg.series} && "
                                      "perceive export anomaly --checkpoint RUN/checkpoint.pt"}}
    results = {}
    for variant, path, scheme in (("fp32", fp32, "none"), ("int8", int8, "int8-dynamic")):
        write_contract(path, make_contract({**base, "quantization": {"scheme": scheme, "fp32_twin": fp32.name}}))
        results[variant] = _score_series(path, series, cfg)
    hop_feeds = {"x": np.zeros((1, cfg.hop, 1), np.float32), "h0": feeds["h0"][:, :1], "c0": feeds["c0"][:, :1]}
    latency = compare_latency({"fp32": fp32, "int8": int8}, hop_feeds, runs=LATENCY_RUNS)
    keep_int8 = int8_pays(results["int8"]["lstm"]["f1"] >= results["fp32"]["lstm"]["f1"], latency)
    final = {**base, "quantization": {"scheme": "int8-dynamic" if keep_int8 else "none",
                                      "fp32_twin": fp32.name if keep_int8 else ""},
             "metrics": {"evaluation": results, "training": _training_metrics(ckpt), "parity_max_abs": parity}}
    shipped = ship(fp32, int8, out / fp32.name.replace(".fp32", ""), keep_int8)
    write_contract(shipped, make_contract(final))
    if keep_int8:
        write_contract(fp32, make_contract({**final, "quantization": {"scheme": "none"}}))
    write_model_card(out / "anomaly.md", make_contract(final), {
        "Detection and forecasting (evaluation part of the series; every labelled anomaly is there)": results,
        "Splits and calibration": {k: m[k] for k in ("split", "error_scale", "threshold", "smooth", "margin")},
        f"Latency (one {cfg.hop}-sample streaming hop with state)": latency})
    return {"shipped": str(shipped), "results": results, "latency": latency["latency"], "parity": parity}


def _score_series(path: Path, series, cfg) -> dict:
    """Run the ONNX model as the runtime does (hop by hop, state carried) and score it like training."""
    from training.sensor.scoring import detection_scores
    scores = _stream_scores(path, series.values, cfg.hop)
    detector = AnomalyDetector(Engine(path, EngineConfig(warmup_runs=0)))
    evalp = slice(series.calib_end, len(series.values))
    return {"lstm": detection_scores(scores[evalp] > detector.threshold, series.labels[evalp])}

