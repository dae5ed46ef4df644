"""`perceive export` and `perceive train` argument handling: a missing or foreign checkpoint, an output folder
that cannot be made, a bad --set or --config: exit 2 and one line, before torch loads anything."""
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="perceive export/train need the train extra (PyTorch)")
TIMEOUT_S = 180


def fails(tmp_path, *args, match: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT_S, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr  # was a traceback, or exit 1
    assert lines[0].startswith("perceive: error: ") and match in lines[0], lines[0]


@pytest.fixture
def junk(tmp_path):
    (tmp_path / "garbage.pt").write_bytes(b"\x80\x04not a checkpoint")
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))  # a zip archive, but not torch.save's
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain_file").write_text("")
    return tmp_path


@pytest.mark.parametrize("args, match", [
    (("export", "har", "--checkpoint", "missing.pt"), "--checkpoint missing.pt: file not found"),
    (("export", "har", "--checkpoint", "folder"), "--checkpoint folder: not a file"),
    (("export", "har", "--checkpoint", "garbage.pt"), "--checkpoint garbage.pt: not a PyTorch checkpoint"),
    (("export", "har", "--checkpoint", "arrays.npz"), "--checkpoint arrays.npz: not a PyTorch checkpoint"),
    (("export", "har"), "perceive export har needs --checkpoint runs/har-*/checkpoint.pt"),
    (("export", "face", "--out", "plain_file/models"), "--out plain_file/models: cannot make the output folder"),
    (("train", "har", "--out", "plain_file/runs"), "--out plain_file/runs: cannot make the run folder"),
    (("train", "har", "--config", "missing.toml"), "missing.toml: config file not found"),
    (("train", "har", "--config", "folder"), "folder: is a directory"),
    (("train", "har", "--set", "no_such_key=1"), "unknown key 'no_such_key'"),
    (("train", "har", "--set", "epochs=many"), "epochs: expected an integer, got 'many'"),
])
def test_refused_with_one_line(junk, args, match):
    out = () if "--out" in args else ("--out", junk / "out")  # never the repository's runs/ or models/
    fails(junk, *args, *out, match=match)


@pytest.mark.parametrize("flag, value", [("--runs", "0"), ("--threads", "99999"), ("--min-face", "-1")])
def test_face_bench_bounds(tmp_path, flag, value):
    """--runs 0 and --threads 99999 ran on for minutes; --min-face -1 was a ValueError traceback."""
    proc = subprocess.run([sys.executable, "-m", "export.face_bench", flag, value], capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"argument {flag}: '{value}'" in proc.stderr.splitlines()[-1]
