"""What the CLI prints: a reader that goes away, --draw targets, OpenCV's own log lines, doctor's advice."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.cli.main import SIGPIPE_EXIT
from pipeline.cli.ocr import writable_formats

ROOT = Path(__file__).resolve().parents[2]
OCR_IMAGE = ROOT / "tests" / "ocr" / "fixtures" / "clean_0.png"
ACTIVITIES = ROOT / "tests" / "sensor" / "fixtures" / "activities.csv"
TIMEOUT_S = 120

IMU_CONFIG = f"""
[[pipelines]]
name = "imu"
[pipelines.source]
type = "sensor_file"
path = "{ACTIVITIES}"
channels = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
sample_rate_hz = 10.0
block = 16
pace = "asap"
loop = true
[[pipelines.stages]]
type = "activity"
"""


def perceive(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, cwd=ROOT)


def perceive_into_closed_pipe(*args: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is already gone (what `| head` leaves behind): every write
    the command makes fails with EPIPE, whatever the size of its output."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    proc.stdout.close()
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perceive: error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("command", [
    ["models"],
    ["validate", "--reference"],
    ["ocr", "--json", str(OCR_IMAGE)],
    ["run", "IMU_CONFIG"],
])
def test_closed_stdout_ends_quietly(tmp_path, command):
    if command == ["run", "IMU_CONFIG"]:
        config = tmp_path / "imu.toml"
        config.write_text(IMU_CONFIG)
        command = ["-q", "run", str(config)]
    code, err = perceive_into_closed_pipe(*command)
    assert code == SIGPIPE_EXIT, err
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err, err


def test_draw_without_extension_names_the_formats_and_writes_nothing(tmp_path):
    target = tmp_path / "boxes"
    line = one_error_line(perceive("ocr", "--draw", str(target), str(OCR_IMAGE)))
    assert str(target) in line and ".png" in line and ".jpg" in line
    assert list(tmp_path.iterdir()) == []


def test_draw_into_a_missing_folder_names_the_folder(tmp_path):
    target = tmp_path / "missing" / "boxes.png"
    line = one_error_line(perceive("ocr", "--draw", str(target), str(OCR_IMAGE)))
    assert f"folder {tmp_path / 'missing'} does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_draw_writes_the_picture_it_was_asked_for(tmp_path):
    target = tmp_path / "boxes.jpg"
    proc = perceive("ocr", "--draw", str(target), str(OCR_IMAGE))
    assert proc.returncode == 0, proc.stderr
    picture = cv2.imread(str(target))
    assert picture is not None and picture.shape[:2] == cv2.imread(str(OCR_IMAGE)).shape[:2]
    assert ".png" in writable_formats() and ".jpg" in writable_formats()


def test_opencv_and_ffmpeg_log_lines_stay_off_the_terminal(tmp_path):
    """OpenCV warns about a missing image and FFmpeg about a corrupt video on stderr by default;
    perceive's own messages say what failed, so those lines must not appear."""
    corrupt_video = tmp_path / "corrupt.mp4"
    corrupt_video.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    config = tmp_path / "video.toml"
    config.write_text(f'[[pipelines]]\nname = "cam"\n[pipelines.source]\ntype = "video"\nuri = "{corrupt_video}"\n'
                      '[[pipelines.stages]]\ntype = "delay"\nms = 1\n')
    ocr = perceive("ocr", str(tmp_path / "missing.png"))
    run = perceive("-q", "run", str(config), "--seconds", "1")
    for proc in (ocr, run):
        assert "[ WARN" not in proc.stderr and "moov atom" not in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert ocr.returncode == 2 and "missing.png" in ocr.stderr
    # the same reads without perceive's setting do print them: the check above can fail
    env = {**os.environ, "OPENCV_LOG_LEVEL": "WARNING"}
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)
    raw = subprocess.run([sys.executable, "-c", f"import cv2; cv2.imread({str(tmp_path / 'missing.png')!r}); "
                          f"cv2.VideoCapture({str(corrupt_video)!r})"], capture_output=True, text=True,
                         timeout=TIMEOUT_S, env=env)
    assert "[ WARN" in raw.stderr and "moov atom" in raw.stderr, raw.stderr


@pytest.mark.skipif(os.path.exists("/etc/perceive/perceive.toml"), reason="this machine has a default config")
def test_doctor_without_a_config_says_so_and_how_to_make_one():
    proc = perceive("doctor")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no config given (--config), and /etc/perceive/perceive.toml does not exist" in proc.stdout
    assert "perceive.example.toml" in proc.stdout and "edit /etc/perceive" not in proc.stdout
    assert "providers" in proc.stdout  # the checks that need no config still run


def test_models_dir_that_is_not_a_folder_is_named(tmp_path):
    line = one_error_line(perceive("models", "--dir", str(tmp_path / "nope")))
    assert f"--dir {tmp_path / 'nope'}: not a folder" in line
