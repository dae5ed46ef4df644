"""Small ONNX models with valid contracts for the bench tests (onnx helper API, no torch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pipeline.contract import make_contract

PROVENANCE = {"weights": "random, for tests", "licence": "CC0", "data": "none",
              "command": "tests/bench/bench_models.py"}


def _save(graph, path: Path, contract: dict) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for key, value in make_contract(contract).to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def dense(path: Path, name: str = "dense", features: int = 16, units: int = 8, scheme: str = "none",
          fp32_twin: str = "") -> Path:
    """x float32[batch, features] -> MatMul -> y[batch, units]: 2*features*units FLOPs per row."""
    w = numpy_helper.from_array(np.random.default_rng(1).standard_normal((features, units)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", units])],
                              initializer=[w])
    return _save(graph, path, {
        "task": "generic", "name": name, "version": "1",
        "inputs": [{"name": "x", "shape": ["batch", features], "example": [1, features]}],
        "outputs": [{"name": "y", "shape": ["batch", units]}],
        "quantization": {"scheme": scheme, "fp32_twin": fp32_twin}, "provenance": PROVENANCE})


def wide_conv(path: Path) -> Path:
    """image float32[batch, 3, 16, width] -> Conv 3x3 (4 filters, pad 1): width is a dynamic axis."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["image", "w"], ["score"], pads=[1, 1, 1, 1])], "wide",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 16, "width"])],
                              [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 4, 16, "width"])],
                              initializer=[w])
    return _save(graph, path, {
        "task": "generic", "name": "wide", "version": "1",
        "inputs": [{"name": "image", "shape": ["batch", 3, 16, "width"], "layout": "NCHW",
                    "example": [1, 3, 16, 32]}],
        "outputs": [{"name": "score", "shape": ["batch", 4, 16, "width"]}],
        "image": {"color": "RGB", "layout": "NCHW", "height": 16, "width": 0, "resize": "keep_height"},
        "quantization": {"scheme": "none"}, "provenance": PROVENANCE})


def lstm(path: Path, hidden: int = 4, inputs: int = 3) -> Path:
    """x float32[seq, batch, inputs] -> LSTM(hidden) -> y."""
    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, inputs)).astype(np.float32), "W")
    r = numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, hidden)).astype(np.float32), "R")
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=hidden)
    graph = helper.make_graph([node], "lstm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["seq", "batch", inputs])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["seq", 1, "batch", hidden])],
                              initializer=[w, r])
    return _save(graph, path, {
        "task": "generic", "name": "lstm", "version": "1",
        "inputs": [{"name": "x", "shape": ["seq", "batch", inputs], "example": [5, 2, inputs]}],
        "outputs": [{"name": "y", "shape": ["seq", 1, "batch", hidden]}],
        "quantization": {"scheme": "none"}, "provenance": PROVENANCE})
