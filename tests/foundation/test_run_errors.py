"""`perceive run` ends with one line and exit 2 when a pipeline's file cannot be read (the run stops at the
first pipeline that fails)."""
import subprocess
import sys

TIMEOUT_S = 120  # far above the few seconds these take: a hang fails instead of blocking the suite


def run_config(tmp_path, *uris):
    text = "".join(f'[[pipelines]]\nname = "p{i}"\n[pipelines.source]\ntype = "video"\nuri = "{uri}"\n'
                   '[[pipelines.stages]]\ntype = "delay"\nms = 1\n' for i, uri in enumerate(uris))
    config = tmp_path / "run.toml"
    config.write_text(text)
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "run", str(config)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def test_a_missing_video_file_is_one_error_line(tmp_path):
    missing = tmp_path / "missing.mp4"
    proc = run_config(tmp_path, missing)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("perceive: error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert errors == [f"perceive: error: video file not found: {missing}"]
    assert "stopped" not in proc.stderr  # the runner does not log it a second time
