"""FLOPs from the ONNX graph, checked against hand-computed multiply-add counts."""
import pytest

from pipeline.bench.flops import cpu_peak, estimate_flops
from tests.bench.bench_models import dense, lstm, wide_conv


def test_matmul_flops(tmp_path):
    r = estimate_flops(dense(tmp_path / "d.onnx", features=16, units=8), {"x": [3, 16]})
    assert r["flops"] == 2 * 3 * 16 * 8 and r["uncounted_nodes"] == 0


def test_conv_flops_follow_the_dynamic_width(tmp_path):
    path = wide_conv(tmp_path / "w.onnx")
    per_pixel = 2 * 4 * 3 * 3 * 3  # 4 filters of 3x3x3 multiply-adds
    assert estimate_flops(path, {"image": [1, 3, 16, 32]})["flops"] == per_pixel * 16 * 32
    assert estimate_flops(path, {"image": [2, 3, 16, 64]})["flops"] == per_pixel * 2 * 16 * 64


def test_lstm_flops(tmp_path):
    hidden, inputs, seq, batch = 4, 3, 5, 2
    r = estimate_flops(lstm(tmp_path / "l.onnx", hidden, inputs), {"x": [seq, batch, inputs]})
    assert r["flops"] == 2 * seq * batch * 4 * hidden * (inputs + hidden)


def test_unreadable_graph_reports_why(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    r = estimate_flops(bad, {})
    assert r["flops"] is None and "shape inference failed" in r["note"]


def test_cpu_peak_states_its_basis():
    one, two = cpu_peak(1), cpu_peak(2)
    if one["peak_gflops"] is None:
        pytest.skip(one["basis"])
    assert "assumed" in one["basis"] and "MHz" in one["basis"]
    import os
    assert two["peak_gflops"] == pytest.approx(one["peak_gflops"] * min(2, os.cpu_count()), rel=0.01)
