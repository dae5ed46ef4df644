"""`perceive models --dir` and `perceive doctor` on odd folders and configs: a line that names the problem."""
import subprocess
import sys

TIMEOUT_S = 180


def perceive(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT_S, cwd=cwd)


def test_models_dir_skips_folders_and_dangling_links_named_onnx(tmp_path):
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "dangling.onnx").symlink_to(tmp_path / "gone.onnx")  # was a FileNotFoundError traceback
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    proc = perceive("models", "--dir", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "junk.onnx" in proc.stdout and "REFUSED" in proc.stdout
    assert "folder.onnx" not in proc.stdout and "dangling.onnx" not in proc.stdout


def test_models_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    proc = perceive("models", "--dir", "file", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "perceive: error: --dir file: not a folder"


def test_doctor_opens_a_configured_video_file(tmp_path):
    """A damaged file was reported OK ("not opened by doctor") while `perceive run` stops on it."""
    (tmp_path / "clip.mp4").write_bytes(b"\x00garbage" * 500)
    (tmp_path / "folder.mp4").mkdir()
    config = tmp_path / "c.toml"
    config.write_text("".join(f'[[pipelines]]\nname = "{n}"\n[pipelines.source]\ntype = "video"\nuri = "{u}"\n'
                              '[[pipelines.stages]]\ntype = "delay"\n'
                              for n, u in (("a", tmp_path / "clip.mp4"), ("b", tmp_path / "folder.mp4"))))
    proc = perceive("doctor", "--config", config, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"pipeline a: video file {tmp_path / 'clip.mp4'} cannot be opened" in proc.stdout
    assert f"pipeline b: video file {tmp_path / 'folder.mp4'} is not a file" in proc.stdout
