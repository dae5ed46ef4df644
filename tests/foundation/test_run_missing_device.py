"""`perceive run` with a live device that is not there says so at once (exit 2, one line naming the
pipeline and the device) instead of waiting for ever; a source that sets wait_for_device = true still
waits, and the daemon (which leaves it unset) still waits too: see tests/daemon."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.tree import load_config
from pipeline.sources.base import open_source

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60          # the old behaviour waited for ever: the timeout turns that into a failure
WAIT_RUN_S = "1.5"      # --seconds for the run that waits: it must still be waiting, and then stop
MISSING_CAMERA = "9"


def config(tmp_path: Path, source: str, extra: str = "") -> Path:
    path = tmp_path / "run.toml"
    path.write_text(f'[[pipelines]]\nname = "dev"\n[pipelines.source]\n{source}\n{extra}\n'
                    '[[pipelines.stages]]\ntype = "delay"\nms = 1\n')
    return path


def serial(tmp_path: Path) -> str:
    return f'type = "serial"\npath = "{tmp_path / "ttyUSB-gone"}"\nchannels = ["ax"]'


def perceive(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT_S)


@pytest.mark.parametrize("kind", ["camera", "serial"])
def test_a_missing_device_is_one_line_at_once(tmp_path, kind):
    source = f'type = "video"\nuri = "{MISSING_CAMERA}"' if kind == "camera" else serial(tmp_path)
    proc = perceive("run", str(config(tmp_path, source)))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "[ERROR" not in proc.stderr  # nor OpenCV's own line for it
    errors = [line for line in proc.stderr.splitlines() if line.startswith("perceive: error:")]
    assert len(errors) == 1, proc.stderr
    device = f"cannot open video '{MISSING_CAMERA}'" if kind == "camera" else str(tmp_path / "ttyUSB-gone")
    assert errors[0].startswith("perceive: error: pipeline dev: ") and device in errors[0], errors[0]
    assert "wait_for_device = true" in errors[0]


def test_wait_for_device_true_still_waits(tmp_path):
    path = config(tmp_path, serial(tmp_path), "wait_for_device = true\nreconnect_initial_s = 0.1")
    proc = perceive("run", str(path), "--seconds", WAIT_RUN_S)
    assert proc.returncode == 0, proc.stderr
    assert "perceive: error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "ttyUSB-gone" in proc.stderr and "reopening in" in proc.stderr   # retried with back-off


def test_unset_means_wait_outside_perceive_run(tmp_path):
    """The daemon builds sources straight from the config: unset keeps a device waited for."""
    cfg = load_config(config(tmp_path, serial(tmp_path)), [])
    source = cfg.pipelines[0].source
    assert source.wait_for_device is None
    assert open_source(source).should_retry()
    source.wait_for_device = False
    assert not open_source(source).should_retry()


def test_help_documents_it():
    out = perceive("run", "--help").stdout
    assert "wait_for_device = true" in " ".join(out.split())
