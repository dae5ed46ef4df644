"""`perceive bench model|pipeline|compare` given what a hostile new user types: exit 2 and one line that
names the file, flag or limit; never a traceback, never a run that does not end (subprocess timeouts)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
FAST = ("--runs", "2", "--warmup", "0")


def perceive(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT_S, cwd=cwd)


def fails(*args, match: str, cwd=ROOT) -> str:
    """Exit 2 with exactly one `perceive: error:` line containing ``match``; returns that line."""
    proc = perceive(*args, cwd=cwd)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("perceive: error:")]
    assert len(errors) == 1, proc.stderr
    assert match in errors[0], errors[0]
    return errors[0]


def usage_error(*args, match: str) -> None:
    """argparse's refusal: exit 2, a usage line and one `error:` line naming the argument."""
    proc = perceive(*args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert match in proc.stderr.splitlines()[-1], proc.stderr


@pytest.fixture
def junk(tmp_path):
    (tmp_path / "garbage.onnx").write_bytes(b"not a model at all")
    (tmp_path / "empty.onnx").write_bytes(b"")
    for name in ("garbage.png", "garbage.npy", "garbage.npz"):
        (tmp_path / name).write_bytes(b"\x00junk" * 10)
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "folder.npy").mkdir()
    return tmp_path


@pytest.mark.parametrize("model, match", [
    ("missing.onnx", "model file not found: missing.onnx"),
    ("no_such_name", "model 'no_such_name' not found"),
    ("garbage.onnx", "cannot load model"),
    ("empty.onnx", "cannot load model"),
])
def test_models_that_cannot_load(junk, model, match):
    fails("bench", "model", model, *FAST, match=match, cwd=junk)


def test_model_without_contract(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "bare.onnx")
    fails("bench", "model", tmp_path / "bare.onnx", *FAST, match="no model contract")


@pytest.mark.parametrize("flags, match", [
    (("--runs", "99999999999999999999"), "--runs 99999999999999999999: must be between 1 and 1,000,000"),
    (("--warmup", "99999999999999"), "--warmup 99999999999999: must be between 0 and 1,000,000"),
    (("--runs", "0"), "--runs 0: must be between 1"),
    (("--threads", "99999"), "--threads '99999': each must be between 0 and 256"),
    (("--size", "width"), "--size 'width': expected AXIS=N"),
    (("--size", "width=99999999"), "over the limit of 67,108,864"),   # was a 23.8 GiB allocation
    (("--scenario", "server", "--server-rate", "-5"), "--server-rate -5.0: must be a finite number >= 0"),
    (("--scenario", "server", "--server-rate", "nan"), "--server-rate nan"),
    (("--scenario", "server", "--server-rate", "1e-9"), "over the limit of 86400 s"),  # was a sleep for ever
    (("--scenario", "server", "--server-queries", "999999999999"), "--server-queries 999999999999"),
    (("--scenario", "offline", "--offline-batch", "0"), "--offline-batch 0: must be between 1 and 1,024"),
    (("--scenario", "offline", "--offline-samples", "-1"), "--offline-samples -1"),
])
def test_absurd_counts_sizes_and_rates(flags, match):
    fails("bench", "model", "ocr_rec", *FAST, *flags, match=match)


@pytest.mark.parametrize("sample, match", [
    ("missing.png", "sample file not found: missing.png"),
    ("garbage.png", "garbage.png: not a readable image"),
    ("garbage.npy", "garbage.npy: not a .npy file"),
    ("garbage.npz", "garbage.npz: not a .npz file"),
    ("pickled.npy", "pickled.npy: not a readable .npy array file"),
    ("folder.npy", "folder.npy: not a file"),
])
def test_bad_sample_files(junk, sample, match):
    fails("bench", "model", "face_embed", *FAST, "--input", sample, match=match, cwd=junk)


@pytest.mark.parametrize("flag", ["--json", "--csv", "--plot"])
def test_output_in_a_missing_folder_fails_before_timing(tmp_path, flag):
    out = tmp_path / "no_such_folder" / "out.png"
    fails("bench", "model", "har", *FAST, flag, out, match=f"{flag} {out}: folder {out.parent} does not exist")


def test_output_that_is_a_directory(tmp_path):
    fails("bench", "model", "har", *FAST, "--json", tmp_path, match=f"--json {tmp_path}: is a directory")


def _result(tmp_path, **changes) -> Path:
    doc = {"schema": "perceive.bench/1", "kind": "model", "created": "x", "command": "x", "machine": {},
           "load_average_1m": 0, "onnxruntime": "1", "available_providers": [], "peak_rss_mib": 1,
           "protocol": {}, "results": [{"label": "truncated"}], **changes}
    path = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(doc))
    return path


def test_compare_refuses_folders_and_malformed_results(tmp_path):
    fails("bench", "compare", tmp_path, match=f"{tmp_path}: is a directory")
    rows = _result(tmp_path)
    fails("bench", "compare", rows, match=f"{rows}: results[0] is not a model benchmark row")
    kind = _result(tmp_path, kind="video", results=5)
    fails("bench", "compare", kind, match=f"{kind}: kind 'video' is not one of")


def test_pipeline_bench_needs_a_pipeline(tmp_path):
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "engine_only.toml").write_text('[engine]\nproviders = ["cpu"]\n')
    fails("bench", "pipeline", tmp_path / "empty.toml", match="the config is empty")
    fails("bench", "pipeline", tmp_path / "engine_only.toml", match="pipelines: none configured")


@pytest.mark.parametrize("flags, match", [
    (("--seconds", "-1"), "argument --seconds: '-1'"),        # was a RuntimeError traceback
    (("--seconds", "nan"), "argument --seconds: 'nan'"),      # was a ValueError traceback
    (("--seconds", "1e300"), "argument --seconds: '1e300'"),  # was a run that never ended
    (("--items", "-5"), "argument --items: '-5'"),
])
def test_pipeline_bench_durations(flags, match):
    usage_error("bench", "pipeline", "deploy/configs/linux.toml", *flags, match=match)


def test_pipeline_bench_output_checked_before_running(tmp_path):
    out = tmp_path / "missing" / "r.json"
    fails("bench", "pipeline", "deploy/configs/linux.toml", "--json", out, match=f"--json {out}: folder")


@pytest.mark.parametrize("command", [("bench", "model", "har", *FAST), ("models",)])
def test_unknown_provider_is_refused_not_a_silent_cpu_fallback(command):
    fails(*command, "--provider", "cpuu", match="unknown provider")


def test_missing_dir_and_negative_seed(tmp_path):
    fails("bench", "model", "har", *FAST, "--dir", tmp_path / "nope", match=f"--dir {tmp_path / 'nope'}: not a folder")
    usage_error("bench", "model", "har", *FAST, "--seed", "-1", match="argument --seed: '-1'")  # was a traceback


def test_missing_matplotlib_fails_before_timing(monkeypatch, tmp_path, capsys):
    from pipeline.bench import model
    from pipeline.cli.main import main
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setattr(model, "bench_models", lambda *a: pytest.fail("timed before checking --plot"))
    assert main(["-q", "bench", "model", "har", *FAST, "--plot", str(tmp_path / "p.png")]) == 2
    assert "perceive: error: --plot needs matplotlib" in capsys.readouterr().err
