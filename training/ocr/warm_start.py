"""Warm-starting the recogniser from an exported fp32 ONNX model (the shipped `ocr_rec.fp32.onnx`).

The export folds each BatchNorm into its convolution (weight and bias), so the torch model gets the
folded weights and BatchNorms re-fitted to keep the same function: each BatchNorm's running statistics
are measured on training lines and its scale and shift set so that both training-mode (batch
statistics) and eval-mode outputs equal the folded convolution's. ONNX's LSTM gates (i, o, f, c) are
reordered to torch's (i, f, c, o).
"""
from __future__ import annotations

import numpy as np

ONNX_GATES_TO_TORCH = (0, 2, 3, 1)   # torch's i, f, g, o taken from ONNX's i, o, f, c


def _gates(weight: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [weight[k * hidden:(k + 1) * hidden] for k in range(4)]
    return np.concatenate([blocks[k] for k in ONNX_GATES_TO_TORCH])


def onnx_tensors(path: str) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """(conv weights, conv biases, LSTM and head tensors) of an exported recogniser, in graph order."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}  # writable for torch
    weights, biases, rest = [], [], {}
    for node in model.graph.node:
        if node.op_type == "Conv":
            weights.append(init[node.input[1]])
            biases.append(init[node.input[2]])
        elif node.op_type == "LSTM":
            rest["W"], rest["R"], rest["B"] = (init[node.input[k]] for k in (1, 2, 3))
        elif node.op_type == "MatMul":
            rest["head_w"] = init[node.input[1]]
        elif node.op_type == "Add" and node.input[1] in init:
            rest["head_b"] = init[node.input[1]]
    rest.setdefault("head_b", init.get("head.bias"))
    return weights, biases, rest


def load_from_onnx(model, path: str, batches: list[np.ndarray]) -> None:
    """Copy an exported recogniser's weights into ``model`` (built by training.ocr.rec.build_model)."""
    import torch
    from torch import nn
    weights, biases, rest = onnx_tensors(path)
    convs = [m for m in model.cnn if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.cnn if isinstance(m, nn.BatchNorm2d)]
    if len(convs) != len(weights) or any(c.weight.shape != w.shape for c, w in zip(convs, weights)):
        raise ValueError(f"{path} does not match the recogniser's convolutions")
    hidden = model.rnn.hidden_size
    with torch.no_grad():
        for conv, norm, w, b in zip(convs, norms, weights, biases):
            conv.weight.copy_(torch.from_numpy(w))
            norm.running_mean.zero_()
            norm.running_var.fill_(1 - norm.eps)      # eval-mode BN = identity plus the folded bias
            norm.weight.fill_(1.0)
            norm.bias.copy_(torch.from_numpy(b))
        for d, suffix in enumerate(("", "_reverse")):
            getattr(model.rnn, "weight_ih_l0" + suffix).copy_(torch.from_numpy(_gates(rest["W"][d], hidden)))
            getattr(model.rnn, "weight_hh_l0" + suffix).copy_(torch.from_numpy(_gates(rest["R"][d], hidden)))
            bias = rest["B"][d]
            getattr(model.rnn, "bias_ih_l0" + suffix).copy_(torch.from_numpy(_gates(bias[:4 * hidden], hidden)))
            getattr(model.rnn, "bias_hh_l0" + suffix).copy_(torch.from_numpy(_gates(bias[4 * hidden:], hidden)))
        model.head.weight.copy_(torch.from_numpy(rest["head_w"].T))
        model.head.bias.copy_(torch.from_numpy(rest["head_b"]))
    _refit_norms(model, convs, norms, batches)


def _refit_norms(model, convs, norms, batches: list[np.ndarray]) -> None:
    """Per-channel mean / variance of each convolution's output (before its bias), then BN scale = std
    and shift = mean + bias: the same function in training and eval mode."""
    import torch
    sums = [[0.0, 0.0, 0] for _ in convs]

    def hook(k):
        def record(_module, _inputs, out):
            x = out.detach().double().transpose(0, 1).reshape(out.shape[1], -1)
            sums[k][0] += x.sum(1)
            sums[k][1] += (x * x).sum(1)
            sums[k][2] += x.shape[1]
        return record

    handles = [c.register_forward_hook(hook(k)) for k, c in enumerate(convs)]
    model.eval()
    with torch.no_grad():
        for batch in batches:
            model(torch.from_numpy(batch))
    for h in handles:
        h.remove()
    with torch.no_grad():
        for norm, (s, sq, n) in zip(norms, sums):
            mean = s / n
            var = (sq / n - mean * mean).clamp_min(1e-6)
            norm.running_mean.copy_(mean.float())
            norm.running_var.copy_(var.float())
            norm.weight.copy_(torch.sqrt(var + norm.eps).float())
            norm.bias.add_(mean.float())
    model.train()
