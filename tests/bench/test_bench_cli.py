"""`perceive bench model|pipeline|compare` end to end, as a user runs them (subprocess, few runs)."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.runtime.stage import SHIPPED_MODELS
from tests.bench.bench_models import dense

ROOT = Path(__file__).resolve().parents[2]
ACTIVITIES = ROOT / "tests" / "sensor" / "fixtures" / "activities.csv"
PIPELINE_RESULT_KEYS = {"pipeline", "pace", "note", "source_type", "wall_s", "items", "processed", "items_per_s",
                        "drops", "budget_misses", "stage_budget_misses", "stages", "e2e", "e2e_samples_ms",
                        "cpu_core_share", "cpu_machine_share", "providers", "events", "crashes", "source_stats"}
STAGE_KEYS = {"stage", "count", "min_ms", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "budget_ms", "misses",
              "held"}
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None  # optional: --plot says when it is missing
needs_har = pytest.mark.skipif(not (SHIPPED_MODELS / "har.onnx").is_file(), reason="har model not shipped")


def perceive(*args, rc=0):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == rc, proc.stderr + proc.stdout
    return proc


@needs_har
def test_shipped_model_fp32_vs_int8_with_json_csv_and_table(tmp_path):
    out = tmp_path / "har.json"
    proc = perceive("bench", "model", "har", "--fp32", "--threads", "1,2", "--runs", "5", "--warmup", "1",
                    "--json", out, "--csv", tmp_path / "har.csv")
    doc = json.loads(out.read_text())
    assert {(Path(r["model"]).name, r["threads"]) for r in doc["results"]} == {
        ("har.onnx", 1), ("har.onnx", 2), ("har.fp32.onnx", 1), ("har.fp32.onnx", 2)}
    assert all(r["baseline"].startswith("har.fp32.onnx cpu t1") for r in doc["results"])
    assert "p99.9" in proc.stdout and "p50 vs base" in proc.stdout and "threads=1,2" in proc.stdout
    assert "machine: " in proc.stdout and "1.00x" in proc.stdout
    assert len((tmp_path / "har.csv").read_text().splitlines()) == 5


def test_markdown_plot_and_compare(tmp_path):
    path = dense(tmp_path / "d.onnx")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    plot = ["--plot", tmp_path / "p.png"] if HAVE_MATPLOTLIB else []
    md = perceive("bench", "model", path, "--runs", "4", "--warmup", "0", "--json", a, "--markdown", *plot).stdout
    assert md.splitlines()[0].startswith("Command: `perceive -q bench model") and "| d.onnx cpu t1 |" in md
    assert not plot or (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    perceive("bench", "model", path, "--runs", "4", "--warmup", "0", "--json", b)
    table = perceive("bench", "compare", a, b).stdout
    assert "[1] " in table and "[2] " in table and "d.onnx cpu t1" in table and "x)" in table
    result = json.loads(perceive("bench", "compare", a, b, "--json").stdout)
    assert result["rows"][0]["ratios"][0] == 1.0 and len(result["rows"][0]["values"]) == 2


def test_clear_errors(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_text("no")
    proc = perceive("bench", "model", broken, "--runs", "2", rc=2)
    assert "no variant could run" in proc.stderr and "cannot load model" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = perceive("bench", "model", dense(tmp_path / "d.onnx"), "--provider", "tensorrt", "--strict", rc=2)
    assert "provider 'tensorrt' unavailable" in proc.stderr
    proc = perceive("bench", "model", broken, "--size", "width=8", "--input", "x.npy", rc=2)
    assert "--size and --input exclude each other" in proc.stderr
    proc = perceive("bench", "compare", broken, rc=2)
    assert "not a JSON benchmark result" in proc.stderr


def test_plot_without_matplotlib_says_so(monkeypatch, tmp_path):
    from pipeline.bench.plot import plot_latency
    from pipeline.errors import PerceiveError
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(PerceiveError, match="matplotlib, which is not a runtime dependency"):
        plot_latency({"a": [1.0, 2.0]}, tmp_path / "p.png", "t")
    assert not (tmp_path / "p.png").exists()


@needs_har
def test_pipeline_bench_realtime_and_asap(tmp_path):
    config = tmp_path / "imu.toml"
    config.write_text(f"""
[[pipelines]]
name = "imu"
budget_ms = 500
[pipelines.source]
type = "sensor_file"
path = "{ACTIVITIES}"
channels = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
sample_rate_hz = 10.0
block = 16
[[pipelines.stages]]
type = "activity"
budget_ms = 400
""")
    out = tmp_path / "p.json"
    plot = ["--plot", tmp_path / "e2e.png"] if HAVE_MATPLOTLIB else []
    proc = perceive("bench", "pipeline", config, "--seconds", "2", "--json", out, *plot)
    doc = json.loads(out.read_text())
    assert doc["kind"] == "pipeline" and [r["pace"] for r in doc["results"]] == ["realtime", "asap"]
    assert set(doc["results"][0]) == PIPELINE_RESULT_KEYS  # the schema: bump report.SCHEMA when it changes
    assert set(doc["results"][0]["stages"][0]) == STAGE_KEYS
    for r in doc["results"]:
        assert r["processed"] > 0 and r["stages"][0]["stage"] == "activity" and r["crashes"] == 0
        assert r["e2e"]["count"] == r["processed"] and r["e2e"]["budget_ms"] == 500
        assert r["cpu_core_share"] > 0 and "dropped_stale" in r["drops"]
    assert "capture->decision" in proc.stdout and "pace: asap" in proc.stdout
    assert not plot or (tmp_path / "e2e.png").is_file()
    rows = json.loads(perceive("bench", "compare", out, out, "--json").stdout)["rows"]
    assert [r["variant"] for r in rows] == ["imu realtime", "imu asap"] and rows[0]["ratios"] == [1.0, 1.0]
