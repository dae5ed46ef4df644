"""The JSON result schema is stable: tools and `bench compare` read files written by older runs.

Changing a key here means bumping pipeline.bench.report.SCHEMA.
"""
import json

import pytest

from pipeline.bench.model import Protocol, Variant, bench_models, rss_mib
from pipeline.bench.report import SCHEMA, document, load_document, model_csv, to_json
from pipeline.bench.stats import SUMMARY_KEYS
from pipeline.errors import InputError
from tests.bench.bench_models import dense

DOCUMENT_KEYS = {"schema", "kind", "created", "command", "machine", "load_average_1m", "onnxruntime",
                 "available_providers", "peak_rss_mib", "protocol", "results"}
MACHINE_KEYS = {"cpu", "cores", "memory_gib", "os", "python", "arch"}
PROTOCOL_KEYS = {"runs", "warmup", "strict", "seed", "scenarios", "server_rate", "server_queries",
                 "server_bound_ms", "offline_samples", "offline_batch", "interleave", "interleaved", "timer",
                 "graph_optimization", "inter_op_threads"}
RESULT_KEYS = {"label", "model", "requested_providers", "threads", "sizes", "sample", "error", "name", "task",
               "quantization", "size_bytes", "provider", "session_providers", "fallback", "inputs",
               "input_source", "session_ms", "first_run_ms", "rss_delta_mib", "latency", "flops", "flops_note",
               "gflops_per_s", "peak_gflops", "peak_basis", "peak_fraction", "baseline", "ratio_p50",
               "ratio_mean", "scenarios", "samples_ms", "items_per_run"}
LATENCY_KEYS = {"count", "min_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms", "std_ms", "max_ms",
                "throughput_per_s"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    good = dense(tmp / "d.onnx")
    broken = tmp / "broken.onnx"
    broken.write_text("no")
    protocol = Protocol(runs=3, warmup=0, interleave="all")
    rows = bench_models([Variant(good, ["cpu"], 1), Variant(broken, ["cpu"], 1)], protocol)
    return document("model", rows, protocol.as_dict(), rss_mib()[1])


def test_document_keys_are_frozen(doc):
    assert doc["schema"] == SCHEMA == "perceive.bench/1"
    assert set(doc) == DOCUMENT_KEYS and set(doc["machine"]) == MACHINE_KEYS
    assert set(doc["protocol"]) == PROTOCOL_KEYS
    assert "cpu" in doc["available_providers"] and doc["onnxruntime"]


def test_result_keys_are_frozen_for_good_and_failed_rows(doc):
    good, failed = doc["results"]
    assert set(good) == RESULT_KEYS and set(failed) == RESULT_KEYS
    assert set(good["latency"]) == LATENCY_KEYS == set(SUMMARY_KEYS)
    assert good["error"] is None and failed["error"] and failed["latency"]["count"] == 0


def test_json_round_trip_and_csv(doc, tmp_path):
    path = tmp_path / "r.json"
    path.write_text(to_json(doc))
    back = load_document(path)
    assert back["results"][0]["latency"]["p50_ms"] == doc["results"][0]["latency"]["p50_ms"]
    lines = model_csv(doc).splitlines()
    assert lines[0].startswith("label,model,name") and len(lines) == 3


def test_foreign_files_are_refused_by_name(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_document(tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"model": "x"}]))
    with pytest.raises(InputError, match="other.json: schema 'list'"):
        load_document(other)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema": SCHEMA, "kind": "model"}))
    with pytest.raises(InputError, match="lacks"):
        load_document(old)
