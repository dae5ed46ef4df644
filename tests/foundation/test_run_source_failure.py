"""A pipeline stopped by its source's error (a video file that cannot be read) stops `perceive run` and
`perceive bench pipeline` with one line and exit 2, instead of running on or reporting empty numbers.

The sources raise that error from ``Source.get`` once a file source has failed (h/streams); here a
synthetic source whose ``get`` raises stands in for it, so the commands' handling is tested on its own."""
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.main import main
from pipeline.errors import SourceError
from pipeline.sources.synthetic import SyntheticVideoSource

CONFIG = """
[[pipelines]]
name = "cam"
[pipelines.source]
type = "synthetic_video"
fps = 50
frames = 1000
[[pipelines.stages]]
type = "delay"
ms = 1
"""
TIMEOUT_S = 120  # a source retried for ever would hang the test: the timeout turns that into a failure
PROBLEM = "video file /data/clip.mp4: not a video (no stream could be decoded)"


@pytest.fixture
def failing_source(monkeypatch, tmp_path):
    def get(self, timeout=0.5):
        raise SourceError(PROBLEM)
    monkeypatch.setattr(SyntheticVideoSource, "get", get)
    path = tmp_path / "run.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("command", [["run"], ["bench", "pipeline"]])
def test_source_error_stops_the_command_with_one_line(failing_source, capsys, command):
    rc = main(["-q", *command, str(failing_source), "--seconds", "60"])  # 60 s: the old behaviour, ran on
    err = capsys.readouterr().err
    assert rc == 2
    assert [line for line in err.splitlines() if line.startswith("perceive: error:")] == [f"perceive: error: {PROBLEM}"]
    assert "Traceback" not in err


def _video_config(tmp_path, uri) -> Path:
    path = tmp_path / "video.toml"
    path.write_text(f'[[pipelines]]\nname = "v"\n[pipelines.source]\ntype = "video"\nuri = "{uri}"\n'
                    '[[pipelines.stages]]\ntype = "delay"\nms = 1\n')
    return path


@pytest.mark.parametrize("content, match", [(None, "video file not found"),
                                            (b"\x00garbage" * 500, "cannot open video")])
@pytest.mark.parametrize("command", [["run"], ["bench", "pipeline"]])
def test_missing_or_garbage_video_file(tmp_path, content, match, command):
    video = tmp_path / "clip.mp4"
    if content is not None:
        video.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *command,
                           _video_config(tmp_path, video), "--seconds", "60"],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr  # one line: no stats, no traceback
    assert lines[0].startswith(f"perceive: error: {match}") and str(video) in lines[0], lines[0]
