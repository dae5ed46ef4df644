"""Training past one process: torchrun with 2 CPU ranks (gloo), device choice, resume, batch workers."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli.main import main as perceive_main
from pipeline.config.loader import build
from pipeline.engine import Engine
from pipeline.errors import ConfigError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from training.common import STATE_FILE, RunDir  # noqa: E402
from training.distributed import Context, resolve_device  # noqa: E402
from training.sensor import har  # noqa: E402

PROBE = Path(__file__).with_name("ranks_probe.py")
# the smallest har run whose loss still moves: 8 recordings, 2 epochs, a tiny network
TINY_HAR = {"epochs": 2, "limit_train": 8, "batch": 4, "hidden": 8, "conv": 4}
RUN_TIMEOUT_S = 300


def torchrun(*args, cwd=None):
    """Two CPU ranks on a free port (--standalone), one torch thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PERCEIVE_NO_PROGRESS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           *args], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_two_ranks_see_disjoint_shards_and_rank0_alone_writes(tmp_path):
    out = torchrun(str(PROBE), str(tmp_path / "runs"))
    reports = sorted((json.loads(line.split("PROBE ", 1)[1]) for line in out.splitlines() if "PROBE " in line),
                     key=lambda r: r["rank"])
    assert [r["rank"] for r in reports] == [0, 1]
    first, second = reports
    for epoch in range(2):
        a, b = first["epochs"][epoch], second["epochs"][epoch]
        assert len(a) == len(b) == 5 and not set(a) & set(b)      # 11 samples: 5 each, disjoint
        assert set(a) | set(b) <= set(range(11))
    assert first["epochs"][0] != first["epochs"][1]                # a new order every epoch
    assert first["part"] == [0, 2, 4, 6] and second["part"] == [1, 3, 5, 7]
    assert first["history"] == second["history"] == {"loss": [0.5]}  # metrics averaged across ranks
    assert first["broadcast"] == second["broadcast"] == "from rank 0"
    # one run folder, agreed by both ranks, holding rank 0's files only
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and first["path"] == second["path"] == str(runs[0])
    assert sorted(p.name for p in runs[0].iterdir()) == ["checkpoint-rank0.pt", "config.json", "curves-rank0.png",
                                                         "rank0.json"]
    state = torch.load(runs[0] / "checkpoint-rank0.pt", weights_only=False)["model"]
    assert sorted(state) == ["bias", "weight"]                     # saved unwrapped: no "module." prefix


def _contract_shape(path: Path) -> dict:
    """The contract without what training changes (measured metrics, int8-or-not, provenance text)."""
    contract = dataclasses.asdict(Engine(path).contract)
    return {k: v for k, v in contract.items() if k not in ("metrics", "quantization", "provenance")}


def test_torchrun_har_checkpoint_exports_like_a_one_process_run(tmp_path):
    from export.sensor import export_har
    sets = [a for k, v in TINY_HAR.items() for a in ("--set", f"{k}={v}")]
    out = torchrun("-m", "training", "-q", "har", "--device", "cpu", "--out", str(tmp_path / "runs"), *sets)
    metrics = json.loads(out[out.index("{"):])
    assert metrics["processes"] == 2 and metrics["device"] == "cpu" and metrics["mixed_precision"] is False
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [Path(metrics["run"]).name]
    two = Path(metrics["run"])
    assert {"config.json", "checkpoint.pt", "metrics.json", "curves.png", STATE_FILE} <= {p.name for p in two.iterdir()}

    cfg = build(har.Config, TINY_HAR)
    one = RunDir(tmp_path / "one", "har", cfg)
    har.train(cfg, one)
    ckpt = {name: torch.load(run / "checkpoint.pt", weights_only=False) for name, run in (("1", one.path), ("2", two))}
    shapes = {name: {k: tuple(v.shape) for k, v in c["model"].items()} for name, c in ckpt.items()}
    assert shapes["1"] == shapes["2"] and not any(k.startswith("module.") for k in shapes["2"])
    export_har(str(one.path / "checkpoint.pt"), tmp_path / "m1")
    export_har(str(two / "checkpoint.pt"), tmp_path / "m2")
    assert _contract_shape(tmp_path / "m1" / "har.onnx") == _contract_shape(tmp_path / "m2" / "har.onnx")
    logits = Engine(tmp_path / "m2" / "har.onnx").run({"imu": np.zeros((1, 100, 6), np.float32)})["logits"]
    assert logits.shape == (1, 4)


har_make_batch = har.make_batch


class _Stop(Exception):
    pass


class _CrashAfter(RunDir):
    """A run that dies right after saving the state of epoch ``crash_epoch``."""
    crash_epoch = 2

    def save_state(self, model, opt, sched=None, **progress):
        path = super().save_state(model, opt, sched, **progress)
        if progress["epoch"] == self.crash_epoch:
            raise _Stop
        return path


def test_resume_continues_epoch_optimiser_and_scheduler(tmp_path, capsys, monkeypatch):
    cfg = build(har.Config, {**TINY_HAR, "epochs": 4})
    whole = RunDir(tmp_path / "runs", "har", cfg)
    har.train(cfg, whole)
    broken = _CrashAfter(tmp_path / "runs", "har", cfg)
    with pytest.raises(_Stop):
        har.train(cfg, broken)
    assert len(broken.history["train_loss"]) == 2
    built = []
    monkeypatch.setattr(har, "make_batch", lambda *a: built.append(a[-1]) or har_make_batch(*a))
    assert perceive_main(["-q", "train", "har", "--device", "cpu", "--resume", str(broken.path)]) == 0
    # epochs 2 and 3 only, 2 batches each (8 recordings, batch 4); weights, moments and the learning-rate
    # schedule continue, so the end matches the run that never stopped
    assert len(built) == 4
    resumed = torch.load(broken.path / "checkpoint.pt", weights_only=False)
    reference = torch.load(whole.path / "checkpoint.pt", weights_only=False)
    assert resumed["history"]["train_loss"] == pytest.approx(reference["history"]["train_loss"], rel=1e-6)
    for key, value in reference["model"].items():
        assert torch.allclose(resumed["model"][key], value, atol=1e-6), key
    assert json.loads(capsys.readouterr().out)["run"] == str(broken.path)


@pytest.mark.parametrize("argv, message", [
    (["--device", "tpu"], "expected auto, cpu, cuda or cuda:N"),
    (["--workers", "-1"], "--workers -1"),
    (["--resume", "/nonexistent/har-1"], "no config.json"),
    (["--resume", "runs/har-x", "--set", "epochs=1"], "drop --config and --set"),
])
def test_bad_training_options_are_one_line_errors(argv, message, capsys, tmp_path):
    assert perceive_main(["train", "har", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("perceive: error:") and message in err and "\n" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_resume_refuses_another_trainers_run(tmp_path, capsys):
    run = RunDir(tmp_path, "anomaly", build(har.Config, {}))
    assert perceive_main(["train", "har", "--resume", str(run.path)]) == 2
    assert "not a run folder of `perceive train har`" in capsys.readouterr().err


def test_the_global_batch_must_split_evenly():
    assert Context(rank=1, world=2).per_rank(8) == 4
    with pytest.raises(ConfigError, match="divide evenly among 2"):
        Context(rank=0, world=2).per_rank(7)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only answer")
def test_device_choice_without_a_gpu():
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    for spec in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match="sees no CUDA device"):
            resolve_device(spec)
    assert not Context().amp


def _noisy_batch(scale, idx, rng):
    return np.asarray(idx, np.float32) * scale + rng.normal(size=len(idx)).astype(np.float32)


def test_batches_do_not_depend_on_the_number_of_workers():
    from functools import partial
    plan = [np.arange(i, i + 3) for i in range(0, 12, 3)]
    make = partial(_noisy_batch, 10.0)
    inline = [np.asarray(b) for b in Context().batches(plan, make, 5, 0)]
    workers = [np.asarray(b) for b in Context(workers=2).batches(plan, make, 5, 0)]
    resumed = [np.asarray(b) for b in Context().batches(plan, make, 5, 0, start=2)]
    assert len(inline) == 4 and all(np.array_equal(a, b) for a, b in zip(inline, workers))
    assert all(np.array_equal(a, b) for a, b in zip(inline[2:], resumed))
    other_rank = [np.asarray(b) for b in Context(rank=1, world=2).batches(plan, make, 5, 0)]
    assert not np.array_equal(inline[0], other_rank[0])  # ranks draw different augmentations
