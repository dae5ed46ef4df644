import json
import subprocess
import sys

import pytest

from tests.foundation.models import tiny_conv

SUBCOMMANDS = ["models", "validate", "run", "bench", "train", "export"]


def perceive(*args, check_rc=None):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", *args], capture_output=True, text=True,
                          timeout=120)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr + proc.stdout
    return proc


def test_top_level_help_lists_every_command():
    out = perceive("--help", check_rc=0).stdout
    for name in SUBCOMMANDS:
        assert name in out
    assert "perceive models" in out  # tells a newcomer where to start


@pytest.mark.parametrize("command", [["models"], ["validate"], ["run"], ["bench", "model"]])
def test_subcommand_help_explains_itself(command):
    out = perceive(*command, "--help", check_rc=0).stdout
    assert "usage: perceive" in out and len(out.splitlines()) >= 6


def test_validate_good_and_bad_configs(tmp_path):
    ok = perceive("validate", "deploy/perceive.example.toml", check_rc=0)
    assert "OK (1 pipeline(s))" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[engine]\nprovider = ['cpu']\n")
    proc = perceive("validate", str(bad), check_rc=2)
    assert "bad.toml: engine: unknown key 'provider'" in proc.stderr and "Traceback" not in proc.stderr
    proc = perceive("validate", "deploy/perceive.example.toml", "--set", "pipelines.0.budget_ms=fast", check_rc=2)
    assert "pipelines[0].budget_ms: expected a number" in proc.stderr


def test_validate_reference_documents_sources_and_stages():
    out = perceive("validate", "--reference", check_rc=0).stdout
    assert "engine.tensorrt.engine_cache_dir" in out and '[source type = "video"]' in out
    assert '[stage type = "delay"]' in out


def test_models_lists_contract_and_provider(tmp_path):
    tiny_conv(tmp_path / "good.onnx")
    tiny_conv(tmp_path / "bare.onnx", contract=None)
    out = perceive("models", "--dir", str(tmp_path), check_rc=0).stdout
    good = next(line for line in out.splitlines() if line.startswith("good.onnx"))
    assert "generic" in good and "cpu" in good and "CC0" in good
    assert "bare.onnx" in out and "REFUSED" in out and "no model contract" in out
    rows = json.loads(perceive("models", "--dir", str(tmp_path), "--json", check_rc=0).stdout)
    assert any(r.get("contract", {}).get("name") == "tiny-conv" for r in rows)


def test_bench_model_prints_protocol_and_percentiles(tmp_path):
    path = tiny_conv(tmp_path / "m.onnx")
    out = perceive("bench", "model", str(path), "--runs", "5", "--warmup", "1", check_rc=0).stdout
    assert "provider=cpu" in out and "threads=1" in out and "runs=5" in out and "p99" in out
    proc = perceive("bench", "model", str(path), "--provider", "cuda", "--strict", "--runs", "2", check_rc=2)
    assert "provider 'cuda' unavailable" in proc.stderr


def test_missing_model_is_named():
    proc = perceive("bench", "model", "no_such_model", check_rc=2)
    assert "model 'no_such_model' not found" in proc.stderr


def test_run_prints_stats_for_a_config(tmp_path):
    proc = perceive("run", "deploy/perceive.example.toml", "--seconds", "1", check_rc=0)
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    assert stats["pipeline"] == "demo-camera" and stats["counters"]["processed"] > 0
