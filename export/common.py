"""Shared export steps: PyTorch -> ONNX, parity, int8 quantization, contract, fp32-vs-int8 check.

Every exporter follows the same path:
  load_checkpoint (training.common) -> export_onnx -> check_parity -> quantize_static_qdq (CNNs) / quantize_dynamic_rnn (LSTMs)
  -> write_contract on both files -> compare_latency -> int8_pays -> ship -> write_model_card.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import onnx

from pipeline.bench.stats import percentiles
from pipeline.contract import CONTRACT_KEY, ModelContract
from pipeline.engine import CpuOptions, Engine, EngineConfig, runtime_version
from pipeline.errors import ModelError
from pipeline.sysinfo import machine
from training.common import load_checkpoint  # noqa: F401  (exporters call it from here; it lives with the checkpoints)

OPSET = 17


def export_onnx(model, example: tuple, path: str | Path, input_names: list[str], output_names: list[str],
                dynamic_axes: dict[str, dict[int, str]] | None = None) -> Path:
    """TorchScript-based export (dynamo=False): keeps LSTM batch axes dynamic and needs no onnxscript."""
    import torch
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, example, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes or {}, opset_version=OPSET, dynamo=False)
    onnx.checker.check_model(str(path))
    return path


def _session(path: str | Path, threads: int = 1):
    """A raw session for files that do not carry a contract yet (between export and write_contract)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_onnx(path: str | Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return _session(path).run(None, feeds)


def check_parity(model, onnx_path: str | Path, feeds: dict[str, np.ndarray], atol: float = 1e-4) -> float:
    """Max |torch - onnx| over all outputs; raises when above ``atol``."""
    import torch
    model.eval()
    with torch.no_grad():
        out = model(*[torch.from_numpy(v) for v in feeds.values()])
    torch_outs = [o.numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]
    onnx_outs = run_onnx(onnx_path, feeds)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(torch_outs, onnx_outs))
    if diff > atol:
        raise ModelError(f"{onnx_path}: ONNX differs from PyTorch by {diff:.2e} (> {atol:.0e})")
    return diff


class _Reader:
    """onnxruntime CalibrationDataReader over an iterable of feed dicts."""

    def __init__(self, batches: Iterable[dict[str, np.ndarray]]):
        self._it = iter(batches)

    def get_next(self):
        return next(self._it, None)


def quantize_static_qdq(fp32: str | Path, out: str | Path, calibration: Iterable[dict[str, np.ndarray]],
                        per_channel: bool = True, op_types: list[str] | None = None,
                        exclude_nodes: list[str] | None = None, calibrate_method: str = "MinMax",
                        reduce_range: bool = True) -> Path:
    """Static int8 QDQ with calibration: the fast int8 path for convolutions (ConvInteger is slow here).

    ``reduce_range`` keeps weights to 7 bits. x86 CPUs without VNNI (AVX2, early AVX-512) multiply
    uint8 activations by int8 weights with an instruction (vpmaddubsw) that saturates pairs of
    products at int16; full-range weights then lose accuracy on those CPUs only: the face embedding
    measured cosine 0.989 to its fp32 twin on AVX2 against 0.9997 with VNNI.
    """
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quant_pre_process,
                                          quantize_static)
    out = Path(out)
    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(out), _Reader(calibration), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=op_types, nodes_to_exclude=exclude_nodes or [],
                    calibrate_method=getattr(CalibrationMethod, calibrate_method), reduce_range=reduce_range)
    pre.unlink(missing_ok=True)
    return out


def quantize_dynamic_rnn(fp32: str | Path, out: str | Path, op_types: tuple = ("LSTM", "MatMul", "Gemm")) -> Path:
    """Dynamic int8 limited to recurrent and matrix ops (dynamic Conv would become slow ConvInteger)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(str(fp32), str(out), op_types_to_quantize=list(op_types), weight_type=QuantType.QInt8)
    return Path(out)


def write_contract(path: str | Path, contract: ModelContract) -> None:
    """Store the contract in the file's metadata, replacing an older one; checks it loads."""
    model = onnx.load(str(path))
    keep = [p for p in model.metadata_props if p.key != CONTRACT_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in contract.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "perceive"
    onnx.save(model, str(path))
    Engine(path, EngineConfig(warmup_runs=0), warmup=False)  # refuses a contract that does not fit the graph


def compare_latency(models: dict[str, str | Path], feeds: dict[str, np.ndarray], runs: int = 200,
                    warmup: int = 20, threads: int = 1) -> dict[str, Any]:
    """Interleaved timing of several variants on the same inputs, so machine drift hits all alike."""
    config = EngineConfig(warmup_runs=0, cpu=replace(CpuOptions(), intra_op_threads=threads))
    engines = {name: Engine(path, config, warmup=False) for name, path in models.items()}
    for engine in engines.values():
        for _ in range(warmup):
            engine.run(feeds)
    times = {name: np.empty(runs) for name in engines}
    for i in range(runs):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.run(feeds)
            times[name][i] = (time.perf_counter() - start) * 1000
    result = {name: {**percentiles(t), "mean_ms": float(t.mean())} for name, t in times.items()}
    return {"latency": result,
            "protocol": {"provider": "cpu", "threads": threads, "runs": runs, "warmup": warmup,
                         "interleaved": True, "inputs": {k: list(v.shape) for k, v in feeds.items()},
                         "onnxruntime": runtime_version(), "machine": machine()}}


def int8_pays(accuracy_kept: bool, latency: dict | None = None, max_slowdown: float = 1.0) -> bool:
    """The one rule for shipping int8: it keeps the accuracy the exporter measured and, when timed
    (``compare_latency``'s result with "fp32" and "int8" variants), its p50 is at most ``max_slowdown``
    times fp32's: a tiny LSTM or a small conv net can lose to fp32 on CPU, and then int8 buys nothing."""
    if latency is None:
        return accuracy_kept
    lat = latency["latency"]
    return accuracy_kept and lat["int8"]["p50_ms"] <= lat["fp32"]["p50_ms"] * max_slowdown


def ship(fp32: Path, int8: Path, target: Path, keep_int8: bool, keep_twin: bool = True) -> Path:
    """Put the chosen variant at ``target`` (the shipped NAME.onnx) and remove the other.

    With int8 shipped, the fp32 twin stays beside it unless ``keep_twin`` is False. ``int8`` may already
    be ``target`` (quantized straight to the shipped name): fp32 then replaces it when int8 loses.
    """
    if keep_int8:
        if int8 != target:
            int8.replace(target)
        if not keep_twin:
            fp32.unlink()
    else:
        fp32.replace(target)
        if int8 != target:
            int8.unlink()
    return target


def write_model_card(path: str | Path, contract: ModelContract, sections: dict[str, Any]) -> Path:
    """A markdown card next to the model: contract summary, provenance, metrics, latency."""
    p = contract.provenance
    lines = [f"# {contract.name} {contract.version}", "",
             f"- task: `{contract.task}`", f"- quantization: `{contract.quantization.scheme}`",
             f"- weights: {p.weights}", f"- licence: {p.licence}", f"- data: {p.data}",
             f"- rebuild: `{p.command}`", ""]
    for title, body in sections.items():
        lines += [f"## {title}", ""]
        lines += [body if isinstance(body, str) else "```json\n" + json.dumps(body, indent=2, default=float)
                  + "\n```", ""]
    path = Path(path)
    path.write_text("\n".join(lines))
    return path

