import logging
from pathlib import Path

import numpy as np
import pytest

from pipeline import engine as engine_mod
from pipeline.engine import Engine, EngineConfig, _provider_options, plan_providers
from pipeline.errors import InputError, ModelError, ProviderUnavailable


def test_runs_on_cpu_and_says_so(model_path, caplog):
    caplog.set_level(logging.INFO, logger="perceive.engine")
    engine = Engine(model_path, EngineConfig(warmup_runs=1))
    assert engine.provider == "cpu" and engine.providers == ["cpu"]
    assert "tiny.onnx runs on cpu" in caplog.text
    assert engine.first_run_ms is not None  # warmed up at construction
    out = engine.run(engine.example_feeds())
    assert out["score"].shape == (1, 4, 32, 32)


def test_missing_provider_falls_back_with_a_warning(model_path, caplog):
    engine = Engine(model_path, EngineConfig(providers=["tensorrt", "cuda", "cpu"]))
    assert engine.provider == "cpu"
    assert "provider 'tensorrt' unavailable" in caplog.text and "provider 'cuda' unavailable" in caplog.text


def test_strict_mode_names_the_missing_provider(model_path):
    with pytest.raises(ProviderUnavailable, match="provider 'cuda' unavailable.*strict"):
        Engine(model_path, EngineConfig(providers=["cuda", "cpu"], strict=True))


def test_plan_uses_only_available_providers_in_order():
    cfg = EngineConfig(providers=["tensorrt", "cuda", "cpu"])
    assert plan_providers(cfg, ["cuda", "cpu"]) == ["cuda", "cpu"]
    assert plan_providers(cfg, ["tensorrt", "cuda", "cpu"]) == ["tensorrt", "cuda", "cpu"]
    assert plan_providers(EngineConfig(providers=["openvino"]), ["cpu"]) == ["cpu"]
    with pytest.raises(ProviderUnavailable, match="provider 'tensorrt' unavailable"):
        plan_providers(EngineConfig(providers=["tensorrt", "cpu"], strict=True), ["cuda", "cpu"])


def test_provider_listed_but_failing_to_initialise_is_caught(model_path, monkeypatch, caplog):
    # Pretend this onnxruntime has CUDA: the session then silently runs on CPU; the engine notices.
    monkeypatch.setattr(engine_mod, "available_providers", lambda: ["cuda", "cpu"])
    engine = Engine(model_path, EngineConfig(providers=["cuda", "cpu"]))
    assert engine.provider == "cpu"
    assert "['cuda'] failed to initialise" in caplog.text
    with pytest.raises(ProviderUnavailable, match=r"provider\(s\) \['cuda'\] failed to initialise"):
        Engine(model_path, EngineConfig(providers=["cuda", "cpu"], strict=True))


def test_provider_options_are_mapped():
    cfg = EngineConfig()
    trt = _provider_options("tensorrt", cfg)
    assert trt["trt_fp16_enable"] is True and trt["trt_engine_cache_enable"] is True
    assert trt["trt_max_workspace_size"] == 1024 << 20 and "~" not in trt["trt_engine_cache_path"]
    assert _provider_options("cuda", cfg) == {"device_id": 0}
    assert _provider_options("cpu", cfg) == {}


def test_missing_and_corrupt_model_files(tmp_path):
    with pytest.raises(ModelError, match="model file not found: .*nothing.onnx"):
        Engine(tmp_path / "nothing.onnx")
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"\x00not a model")
    with pytest.raises(ModelError, match="cannot load model .*corrupt.onnx"):
        Engine(bad)


def test_wrong_inputs_get_clear_errors(model_path):
    engine = Engine(model_path, EngineConfig(warmup_runs=0))
    with pytest.raises(InputError, match=r"expects inputs \['image'\], got \['x'\]"):
        engine.run({"x": np.zeros((1, 3, 32, 32), np.float32)})
    with pytest.raises(InputError, match=r"image: float32\[batch,3,32,32\].*got dtype uint8"):
        engine.run({"image": np.zeros((1, 3, 32, 32), np.uint8)})
    with pytest.raises(InputError, match=r"got shape \(1, 32, 32, 3\)"):
        engine.run({"image": np.zeros((1, 32, 32, 3), np.float32)})
    with pytest.raises(InputError, match=r"got shape \(3, 32, 32\)"):
        engine.run({"image": np.zeros((3, 32, 32), np.float32)})


def test_example_feeds_follow_contract_and_dynamic_sizes(model_path):
    engine = Engine(model_path, EngineConfig(warmup_runs=0))
    assert engine.example_feeds()["image"].shape == (1, 3, 32, 32)
    assert engine.example_feeds({"batch": 4})["image"].shape == (4, 3, 32, 32)


def test_profiling_writes_a_trace(model_path, tmp_path):
    engine = Engine(model_path, EngineConfig(profiling=True, profile_dir=str(tmp_path), warmup_runs=1))
    trace = engine.end_profiling()
    assert trace and Path(trace).is_file() and Path(trace).parent == tmp_path
