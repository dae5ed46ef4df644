"""Start a keyword model from the weights of a shipped fp32 ONNX file (``pipeline/models/kws.fp32.onnx``).

The shipped model's checkpoint is not kept in git, but its fp32 twin holds every weight: the
input normalisation (Sub/Div constants), each LSTM layer (ONNX ``LSTM`` W, R, B) and the linear head
(MatMul + Add). Labels are matched by name; labels the shipped model lacks (a new wake phrase) get
new head rows that start below ``_unknown_`` so the model begins by predicting what it did before.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ONNX_TO_TORCH_GATES = (0, 2, 3, 1)   # ONNX packs LSTM gates i,o,f,c; PyTorch i,f,g(c),o
NEW_ROW_BIAS_OFFSET = -4.0           # a new label's logit starts this far below _unknown_'s


def _gates(w: np.ndarray, hidden: int) -> np.ndarray:
    blocks = w.reshape(4, hidden, *w.shape[1:])
    return np.concatenate([blocks[g] for g in ONNX_TO_TORCH_GATES])


def onnx_weights(path: str | Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """The model's state dict (PyTorch names) and its labels, read from an fp32 ONNX file."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    contract = json.loads(next(p.value for p in model.metadata_props if p.key == "perceive.contract"))
    state = {"mean": init["mean"], "std": init["std"], "head.bias": init["head.bias"]}
    lstms = [n for n in model.graph.node if n.op_type == "LSTM"]
    for layer, node in enumerate(lstms):
        w, r, b = (init[name][0] for name in node.input[1:4])
        hidden = r.shape[1]
        state[f"lstm.weight_ih_l{layer}"] = _gates(w, hidden)
        state[f"lstm.weight_hh_l{layer}"] = _gates(r, hidden)
        state[f"lstm.bias_ih_l{layer}"] = _gates(b[:4 * hidden], hidden)
        state[f"lstm.bias_hh_l{layer}"] = _gates(b[4 * hidden:], hidden)
    matmul = next(n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in init)
    state["head.weight"] = init[matmul.input[1]].T
    return state, list(contract["labels"])


def load_into(model, path: str | Path, labels: list[str]) -> list[str]:
    """Copy the ONNX file's weights into ``model`` (same LSTM shape), head rows mapped by label name;
    returns the labels that were new."""
    import torch
    state, old_labels = onnx_weights(path)
    state = {k: np.array(v) for k, v in state.items()}   # writable copies for torch
    weight, bias = model.head.weight.detach().clone(), model.head.bias.detach().clone()
    unknown = old_labels.index("_unknown_")
    new = []
    for i, name in enumerate(labels):
        if name in old_labels:
            j = old_labels.index(name)
            weight[i], bias[i] = torch.from_numpy(state["head.weight"][j]), float(state["head.bias"][j])
        else:
            new.append(name)
            weight[i] = torch.from_numpy(state["head.weight"][unknown]) * 0.1
            bias[i] = float(state["head.bias"][unknown]) + NEW_ROW_BIAS_OFFSET
    state["head.weight"], state["head.bias"] = weight.numpy(), bias.numpy()
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return new
