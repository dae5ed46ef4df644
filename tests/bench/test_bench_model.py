"""The model bench in-process: variants, ratios, sweeps, sample files and load failures."""
import os

import cv2
import numpy as np
import pytest

from export.common import quantize_dynamic_rnn, write_contract
from pipeline.bench.inputs import parse_sizes
from pipeline.bench.model import Protocol, Variant, bench_models, plan_variants
from pipeline.config.loader import to_dict
from pipeline.contract import make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.errors import InputError, ProviderUnavailable
from tests.bench.bench_models import dense, lstm, wide_conv

FEW = Protocol(runs=5, warmup=1)


@pytest.fixture
def fp32_and_int8(tmp_path):
    fp32 = dense(tmp_path / "dense.fp32.onnx", features=64, units=32)
    int8 = quantize_dynamic_rnn(fp32, tmp_path / "dense.onnx", op_types=("MatMul",))
    contract = Engine(fp32, EngineConfig(warmup_runs=0), warmup=False).contract
    data = to_dict(contract)
    data.pop("schema")
    data["quantization"] = {"scheme": "int8-dynamic", "fp32_twin": "dense.fp32.onnx"}
    write_contract(int8, make_contract(data))
    return fp32, int8


def test_fp32_is_the_baseline_of_its_int8_twin(fp32_and_int8):
    fp32, int8 = fp32_and_int8
    rows = bench_models(plan_variants([int8, fp32], [["cpu"]], [1, 2], [{}], []), FEW)
    assert len(rows) == 4 and all(r["error"] is None for r in rows)
    base = next(r for r in rows if r["model"] == str(fp32) and r["threads"] == 1)
    assert {r["baseline"] for r in rows} == {base["label"]}
    assert base["ratio_p50"] == 1.0
    for r in rows:
        assert r["ratio_p50"] == pytest.approx(r["latency"]["p50_ms"] / base["latency"]["p50_ms"])
        assert r["latency"]["count"] == 5 and len(r["samples_ms"]) == 5
        assert r["session_ms"] > 0 and r["first_run_ms"] > 0 and r["size_bytes"] == os.path.getsize(r["model"])
    assert {r["quantization"] for r in rows} == {"none", "int8-dynamic"}


def test_size_sweep_sets_the_dynamic_axis_and_flops(tmp_path):
    path = wide_conv(tmp_path / "wide.onnx")
    rows = bench_models(plan_variants([path], [["cpu"]], [1], parse_sizes(["width=16,48"]), []), FEW)
    assert [r["inputs"]["image"] for r in rows] == [[1, 3, 16, 16], [1, 3, 16, 48]]
    assert rows[1]["flops"] == 3 * rows[0]["flops"] > 0
    assert rows[0]["baseline"] != rows[1]["baseline"]  # different inputs are not compared as variants


def test_unknown_sweep_axis_is_refused_by_name(tmp_path):
    path = wide_conv(tmp_path / "wide.onnx")
    rows = bench_models([Variant(path, ["cpu"], 1, {"height": 8})], FEW)
    assert "'height'" in rows[0]["error"] and "width" in rows[0]["error"]
    with pytest.raises(InputError, match="AXIS=N"):
        parse_sizes(["width=big"])


def test_real_sample_files(tmp_path):
    path = wide_conv(tmp_path / "wide.onnx")
    image = tmp_path / "sample.png"
    cv2.imwrite(str(image), np.full((32, 80, 3), 200, np.uint8))
    npy = tmp_path / "sample.npy"
    np.save(npy, np.zeros((2, 3, 16, 24), np.float32))
    rows = bench_models(plan_variants([path], [["cpu"]], [1], [{}], [str(image), str(npy)]), FEW)
    assert rows[0]["inputs"]["image"] == [1, 3, 16, 40]  # keep_height: 32x80 -> 16x40
    assert rows[1]["inputs"]["image"] == [2, 3, 16, 24] and rows[1]["items_per_run"] == 2
    assert rows[1]["latency"]["throughput_per_s"] == pytest.approx(2000 / rows[1]["latency"]["mean_ms"])
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 16, 24), np.float32))
    row = bench_models([Variant(path, ["cpu"], 1, {}, str(bad))], FEW)[0]
    assert "got shape (2, 16, 24)" in row["error"]


def test_model_that_fails_to_load_keeps_its_error_and_others_run(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    good = dense(tmp_path / "good.onnx")
    rows = bench_models(plan_variants([broken, good], [["cpu"]], [1], [{}], []), FEW)
    assert "cannot load model" in rows[0]["error"] and "broken.onnx" in rows[0]["error"]
    assert rows[1]["error"] is None and rows[1]["latency"]["count"] == 5


def test_missing_provider_strict_stops_and_lenient_marks_fallback(tmp_path):
    path = dense(tmp_path / "d.onnx")
    with pytest.raises(ProviderUnavailable, match="provider 'cuda' unavailable"):
        bench_models([Variant(path, ["cuda"], 1)], Protocol(runs=2, warmup=0, strict=True))
    row = bench_models([Variant(path, ["cuda"], 1)], Protocol(runs=2, warmup=0))[0]
    assert row["provider"] == "cpu" and row["fallback"] is True


def test_server_and_offline_scenarios_are_recorded(tmp_path):
    path = dense(tmp_path / "d.onnx")
    protocol = Protocol(runs=5, warmup=1, scenarios=("single_stream", "server", "offline"), server_rate=500,
                        server_queries=20, server_bound_ms=1000, offline_samples=20, offline_batch=4)
    row = bench_models([Variant(path, ["cpu"], 1)], protocol)[0]
    server, offline = row["scenarios"]["server"], row["scenarios"]["offline"]
    assert server["latency"]["count"] == 20 and server["bound_ms"] == 1000 and not server["enough_queries"]
    assert offline["samples"] == 20 and offline["batch"] == 4 and offline["batch_latency"]["count"] == 5


def test_sequence_first_inputs_count_one_item_per_run(tmp_path):
    row = bench_models([Variant(lstm(tmp_path / "l.onnx"), ["cpu"], 1)], FEW)[0]
    assert row["inputs"]["x"] == [5, 2, 3] and row["items_per_run"] == 1
