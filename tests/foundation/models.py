"""Tiny ONNX models built with the onnx helper API (no torch), with or without a contract."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pipeline.contract import make_contract

IMAGE_CONTRACT = {
    "task": "generic", "name": "tiny-conv", "version": "1.0",
    "inputs": [{"name": "image", "shape": ["batch", 3, 32, 32], "layout": "NCHW", "example": [1, 3, 32, 32]}],
    "outputs": [{"name": "score", "shape": ["batch", 4, 32, 32]}],
    "image": {"color": "RGB", "layout": "NCHW", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
              "height": 32, "width": 32},
    "quantization": {"scheme": "none"},
    "provenance": {"weights": "random, for tests", "licence": "CC0", "data": "none",
                   "command": "tests/foundation/models.py"},
}


def tiny_conv(path: Path, contract: dict | None = IMAGE_CONTRACT, metadata: dict | None = None) -> Path:
    """image float32[batch,3,32,32] -> Conv 3x3 (4 filters) -> score[batch,4,32,32]."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["image", "w"], ["score"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 4, 32, 32])],
        initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    meta = dict(metadata or {})
    if contract is not None:
        meta.update(make_contract(contract).to_metadata())
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path
