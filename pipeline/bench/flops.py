"""Estimated FLOPs of an ONNX graph and the CPU's nominal peak, so users see the headroom.

FLOPs count the multiply-adds (as 2 FLOPs each) of Conv, ConvTranspose, MatMul,
Gemm and recurrent layers, including their integer and QLinear forms; cheap
element-wise ops are ignored. Shapes come from ONNX shape inference with the
benchmark's concrete input shapes. ``onnx`` is not a runtime dependency: without
it the estimate is reported as unknown, with the reason.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

FLOPS_PER_MAC = 2
RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1, "DynamicQuantizeLSTM": 4}
CONV_WEIGHT_INPUT = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
MATMUL_INPUTS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
# Nominal peak: vector lanes of fp32 per instruction for the widest ISA the CPU reports.
VECTOR_LANES = (("avx512f", 16), ("avx2", 8), ("avx", 8), ("asimd", 4), ("neon", 4), ("sse2", 4))
ASSUMED_FMA_UNITS = 2  # most server/desktop cores issue two vector FMAs per cycle; not knowable from flags


def _shapes(model) -> dict[str, list]:
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    g = inferred.graph
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _fix_inputs(model, input_shapes: dict[str, list[int]]) -> None:
    for inp in model.graph.input:
        if inp.name in input_shapes:
            for dim, value in zip(inp.type.tensor_type.shape.dim, input_shapes[inp.name]):
                dim.Clear()
                dim.dim_value = int(value)


def _known(*shapes) -> bool:
    return all(s is not None and all(isinstance(d, int) and d > 0 for d in s) for s in shapes)


def node_flops(node, shapes: dict[str, list]) -> int | None:
    """FLOPs of one node, 0 for ops not counted, None when a needed shape is unknown."""
    op, get = node.op_type, (lambda i: shapes.get(node.input[i]) if i < len(node.input) else None)
    out = shapes.get(node.output[0]) if node.output else None
    if op in CONV_WEIGHT_INPUT:
        w = get(CONV_WEIGHT_INPUT[op])
        if not _known(w, out):
            return None
        return FLOPS_PER_MAC * int(np.prod(out)) * int(np.prod(w[1:]))
    if op == "ConvTranspose":
        x, w = get(0), get(1)
        if not _known(x, w):
            return None
        return FLOPS_PER_MAC * int(np.prod(x)) * int(np.prod(w[1:]))
    if op in MATMUL_INPUTS:
        a = get(MATMUL_INPUTS[op][0])
        if not _known(a, out):
            return None
        return FLOPS_PER_MAC * int(np.prod(out)) * a[-1]
    if op == "Gemm":
        a = get(0)
        trans_a = next((at.i for at in node.attribute if at.name == "transA"), 0)
        if not _known(a, out):
            return None
        return FLOPS_PER_MAC * int(np.prod(out)) * (a[0] if trans_a else a[-1])
    if op in RNN_GATES:
        return _rnn_flops(node, get(0), RNN_GATES[op])
    return 0


def _rnn_flops(node, x, gates: int) -> int | None:
    attrs = {a.name: a for a in node.attribute}
    if not _known(x) or "hidden_size" not in attrs:
        return None
    hidden = attrs["hidden_size"].i
    dirs = 2 if attrs.get("direction") and attrs["direction"].s == b"bidirectional" else 1
    seq, batch = (x[1], x[0]) if attrs.get("layout") and attrs["layout"].i == 1 else (x[0], x[1])
    return FLOPS_PER_MAC * seq * batch * dirs * gates * hidden * (x[2] + hidden)


def estimate_flops(path: str | Path, input_shapes: dict[str, list[int]]) -> dict:
    """{"flops": int | None, "uncounted_nodes": n, "note": why} for one inference."""
    try:
        import onnx
    except ImportError:
        return {"flops": None, "uncounted_nodes": 0, "note": "onnx is not installed (pip install 'perceive[bench]')"}
    try:
        model = onnx.load(str(path))
        _fix_inputs(model, input_shapes)
        shapes = _shapes(model)
    except Exception as exc:  # shape inference fails on some custom ops; the benchmark still runs
        return {"flops": None, "uncounted_nodes": 0, "note": f"shape inference failed: {exc}"}
    total, unknown = 0, 0
    for node in model.graph.node:
        f = node_flops(node, shapes)
        if f is None:
            unknown += 1
        else:
            total += f
    note = "multiply-adds x2 of Conv/MatMul/Gemm/RNN; element-wise ops ignored"
    if unknown:
        note += f"; {unknown} node(s) with unknown shapes not counted (a lower bound)"
    return {"flops": total, "uncounted_nodes": unknown, "note": note}


def _cpuinfo() -> tuple[set[str], float | None, str]:
    """Vector flags, a clock in MHz and where that clock came from."""
    flags: set[str] = set()
    mhz, source = None, "reported clock; turbo can exceed it"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("flags", "Features") and not flags:
                    flags = set(value.split())
                elif key == "cpu MHz" and mhz is None:
                    mhz = float(value)
    except (OSError, ValueError):
        pass
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_freq.is_file():
        try:
            mhz, source = int(max_freq.read_text()) / 1000, "maximum clock"
        except ValueError:
            pass
    return flags, mhz, source


def cpu_peak(threads: int) -> dict:
    """Nominal fp32 peak of the cores a benchmark uses, with the basis of the figure.

    peak = cores used x clock x lanes x 2 (FMA) x ASSUMED_FMA_UNITS. With the maximum
    clock (cpufreq) it is an upper bound: cores that split wide vectors in two (e.g.
    AVX-512 on AMD Zen 4) and shared cores make the attainable peak lower. Where only
    the reported clock is known (virtual machines), turbo can run faster than it, and
    a share above 100% says so.
    """
    flags, mhz, source = _cpuinfo()
    lanes = next((n for flag, n in VECTOR_LANES if flag in flags), None)
    cores = min(threads or os.cpu_count() or 1, os.cpu_count() or 1)
    if lanes is None or mhz is None:
        return {"peak_gflops": None, "basis": "unknown: /proc/cpuinfo gives no vector ISA or clock"}
    fma = 2 if ("fma" in flags or "asimd" in flags) else 1
    isa = next(flag for flag, n in VECTOR_LANES if flag in flags)
    peak = cores * mhz / 1000 * lanes * fma * ASSUMED_FMA_UNITS
    return {"peak_gflops": round(peak, 1),
            "basis": f"{cores} core(s) x {mhz:.0f} MHz ({source}) x {lanes} fp32 lanes ({isa}) x "
                     f"{fma} (fma) x {ASSUMED_FMA_UNITS} units (assumed)"}
