"""A pipeline stopped by its source's error (a video file that cannot be read) stops `perceive run` and
`perceive bench pipeline` with one line and exit 2, instead of running on or reporting empty numbers.

The sources raise that error from ``Source.get`` once a file source has failed (h/streams); here a
synthetic source whose ``get`` raises stands in for it, so the commands' handling is tested on its own."""
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
