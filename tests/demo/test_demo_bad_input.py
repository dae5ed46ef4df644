"""`perceive demo` given bad input: exit 2 and one line naming the file or flag, never a traceback or a hang
(subprocess timeouts); and the `e` key's enrolment through the locked store."""
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.demo import enrol
from pipeline.skills.face.store import TemplateStore

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300  # loading the face and OCR models on a busy 2-core machine; a hang fails on the timeout
DIM = 128


def demo(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "demo", "--headless", "--threads", "1",
                           *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path)


def fails(tmp_path, *args, match: str) -> None:
    proc = demo(tmp_path, *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and match in errors[0], proc.stderr


@pytest.fixture
def junk(tmp_path):
    (tmp_path / "garbage.mp4").write_bytes(b"\x00not a video" * 300)
    (tmp_path / "garbage.wav").write_bytes(b"RIFF\x00\x00junk" * 300)
    (tmp_path / "folder").mkdir()
    (tmp_path / "corrupt.json").write_text('{"version": 1,')
    (tmp_path / "plain_file").write_text("")
    return tmp_path


@pytest.mark.parametrize("args, match", [
    (("--video", "missing.mp4"), "video file not found: missing.mp4"),
    (("--video", "folder"), "video folder: not a file"),
    (("--audio", "folder"), "audio folder: not a file"),            # was a hang
    (("--store", "folder"), "face store folder is unreadable"),
    (("--store", "corrupt.json"), "face store corrupt.json is unreadable"),
    (("--out", "plain_file/out"), "--out plain_file/out: cannot make the output folder"),  # was a traceback
    (("--out", "plain_file"), "--out plain_file: cannot make the output folder"),          # was a traceback
    (("--name", ""), "--name: a name must be 1 to"),
    (("--seconds", "nan"), "argument --seconds: 'nan'"),
    (("--threads", "99999"), "argument --threads: '99999'"),      # was ONNX Runtime making 99999 threads
    (("--min-face", "-5"), "argument --min-face: '-5'"),
])
def test_refused_before_anything_runs(junk, args, match):
    fails(junk, "--out", "out", *args, match=match)


def test_camera_that_does_not_exist(junk):
    fails(junk, "--out", "out", "--camera", "9", match="no camera at index 9")


@pytest.mark.parametrize("args, match", [
    (("--video", "garbage.mp4"), "cannot open video 'garbage.mp4'"),
    (("--audio", "garbage.wav"), "garbage.wav: not a readable audio file"),                       # was a hang
    (("--audio", "garbage.wav", "--pace", "realtime"), "garbage.wav: not a readable audio file"),  # was rc 0
])
def test_unreadable_media_stops_the_demo(junk, args, match):
    fails(junk, "--out", "out", "--seconds", "60", *args, match=match)


class FakeEmbedder:
    dim = DIM

    def __init__(self):
        self.engine = SimpleNamespace(contract=SimpleNamespace(name="face_embed"))

    def embed(self, image, faces):
        return np.full((1, DIM), 1 / np.sqrt(DIM), np.float32)


def fake_demo(store: Path):
    stage = SimpleNamespace(embedder=FakeEmbedder(), verifier=SimpleNamespace(templates={}))
    item = SimpleNamespace(data=np.zeros((8, 8, 3), np.uint8))
    report = SimpleNamespace(results={"face": SimpleNamespace(faces=["a face"])})
    written = []
    return SimpleNamespace(stage=lambda name: stage, video_tap=SimpleNamespace(last=item, media_time=1.0),
                           video=SimpleNamespace(reports=[report]), opts=SimpleNamespace(min_face=60),
                           inputs=SimpleNamespace(store=store), events=SimpleNamespace(write=written.append),
                           written=written, face_stage=stage)


@pytest.fixture
def no_quality_gate(monkeypatch):
    monkeypatch.setattr(enrol, "quality_problem", lambda *a, **k: None)


def test_enrol_appends_to_the_store_as_it_is_on_disk(tmp_path, no_quality_gate):
    path = tmp_path / "faces.json"
    d = fake_demo(path)
    other = TemplateStore(path, "face_embed", dim=DIM)  # another process enrols meanwhile
    other.add("alice", np.ones((1, DIM), np.float32) / np.sqrt(DIM))
    other.add("me", np.ones((2, DIM), np.float32) / np.sqrt(DIM))
    assert enrol.enrol_current(d, "me") == "enrolled me (3 templates)"
    people = TemplateStore(path, "face_embed", dim=DIM).templates()
    assert sorted(people) == ["alice", "me"] and len(people["me"]) == 3
    assert d.written[-1]["data"]["templates"] == 3 and set(d.face_stage.verifier.templates) == {"alice", "me"}


@pytest.mark.parametrize("setup, match", [
    (lambda p: p.mkdir(), "is unreadable"),
    (lambda p: TemplateStore(p, "face_embed").add("bob", np.ones((1, 64), np.float32)), "64 values"),
])
def test_enrol_into_a_bad_store_is_a_note_not_a_crash(tmp_path, no_quality_gate, setup, match):
    path = tmp_path / "faces.json"
    setup(path)
    message = enrol.enrol_current(fake_demo(path), "me")
    assert message.startswith("enrol: not saved: face store") and match in message, message


def test_demo_thread_limit_is_the_engines():
    from pipeline.cli import demo as demo_cli
    from pipeline.engine import MAX_THREADS
    assert demo_cli.MAX_THREADS == MAX_THREADS
