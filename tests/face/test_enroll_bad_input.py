"""Bad input to `perceive enroll` / `perceive unlock`: one `perceive: error:` line, exit 2, nothing lost."""
import errno
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from pipeline.cli.main import main
from pipeline.skills.face.store import TemplateStore
from tests.face.conftest import write_images, write_video
from tests.face.image_bombs import png_bomb


def perceive(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *args], capture_output=True,
                          text=True, timeout=300)


def error_line(returncode, stderr, *fragments):
    """The single error line of a failed command, checked for exit 2, no traceback and the fragments."""
    assert returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("perceive: error:")]
    assert len(errors) == 1, stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@pytest.fixture
def store_with_alice(tmp_path, models):
    _, embedder = models
    path = tmp_path / "state" / "faces.json"
    rows = np.random.default_rng(0).normal(size=(2, embedder.dim)).astype(np.float32)
    TemplateStore(path, embedder.engine.contract.name, embedder.dim).add(
        "alice", rows / np.linalg.norm(rows, axis=1, keepdims=True))
    return path


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_images_must_be_an_existing_folder(tmp_path, kind):
    target = tmp_path / "photo.png"
    if kind == "file":
        target.write_bytes(b"x")
    out = perceive("enroll", "bob", "--images", str(target), "--store", str(tmp_path / "s.json"))
    error_line(out.returncode, out.stderr, str(target), "not a folder" if kind == "file" else "no such folder")
    assert not (tmp_path / "s.json").exists()


def test_a_name_that_is_not_printable_or_too_long_is_refused(tmp_path):
    for name, fragment in (("eve\x1b]0;owned\x07", "printable"), ("x" * 65, "1 to 64")):
        out = perceive("enroll", name, "--images", str(tmp_path), "--store", str(tmp_path / "s.json"))
        error_line(out.returncode, out.stderr, fragment)


def store_text(model, people):
    return json.dumps({"version": 1, "model": model, "people": people})


def alice(templates):
    return {"alice": {"templates": templates, "enrolled_at": "2026-01-01T00:00:00+0000"}}


MALFORMED = {  # model -> store text, and what the error line says
    "a JSON list": (lambda m: "[1, 2]", "a JSON list"),
    "no people": (lambda m: json.dumps({"version": 1, "model": m}), "no 'people'"),
    "person not an object": (lambda m: store_text(m, {"alice": [1, 2]}), "people.'alice' is not an object"),
    "strings": (lambda m: store_text(m, alice([["0.1"] * 128])), "people.'alice'.templates is not"),
    "ragged": (lambda m: store_text(m, alice([[0.1] * 128, [0.1] * 3])), "rows of different lengths"),
    "NaN": (lambda m: store_text(m, alice([[float("nan")] * 128])), "NaN is not a number"),
    "overflow": (lambda m: store_text(m, alice([[1.5] * 128])).replace("1.5]]", "1e999]]"), "not finite"),
    "wrong length": (lambda m: store_text(m, alice([[0.1] * 5])), "re-enrol"),
    "unprintable name": (lambda m: store_text(m, {"a\x1b[2J": {"templates": [[0.1] * 128]}}), "printable"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_store_is_one_line_in_list_and_unlock(tmp_path, models, faces, case):
    make, fragment = MALFORMED[case]
    text = make(models[1].engine.contract.name)
    store = tmp_path / "faces.json"
    store.write_text(text)
    listed = perceive("enroll", "--list", "--store", str(store))
    error_line(listed.returncode, listed.stderr, fragment)
    video = write_video(tmp_path / "face.avi", faces["astronaut"])
    unlocked = perceive("unlock", "--video", str(video), "--store", str(store), "--timeout", "20")
    error_line(unlocked.returncode, unlocked.stderr, "re-enrol" if case == "wrong length" else fragment)
    assert store.read_text() == text  # left as it was


FAILURES = {  # where the write fails -> the errno it fails with
    "disk full at fsync": ("fsync", errno.ENOSPC, "No space left on device"),
    "read-only at the temporary file": ("mkstemp", errno.EROFS, "Read-only file system"),
    "no permission for the lock file": ("lock", errno.EACCES, "Permission denied"),
}


def _fail_writes(monkeypatch, where, code):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    if where == "fsync":
        monkeypatch.setattr(os, "fsync", fail)
    elif where == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", fail)
    else:
        real_open = os.open
        monkeypatch.setattr(os, "open", lambda path, *a, **k: fail() if str(path).endswith(".lock")
                            else real_open(path, *a, **k))


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_write_is_one_line_and_keeps_the_previous_store(tmp_path, monkeypatch, capsys, store_with_alice,
                                                                   astronaut_variants, failure):
    where, code, message = FAILURES[failure]
    folder = write_images(tmp_path / "bob", astronaut_variants[:2])
    before = store_with_alice.read_bytes()
    _fail_writes(monkeypatch, where, code)
    assert main(["-q", "enroll", "bob", "--images", str(folder), "--store", str(store_with_alice)]) == 2
    error_line(2, capsys.readouterr().err, "bob was not enrolled", str(store_with_alice), message)
    assert main(["-q", "enroll", "--remove", "alice", "--store", str(store_with_alice)]) == 2
    error_line(2, capsys.readouterr().err, message, "unchanged" if where != "lock" else "nothing was changed")
    monkeypatch.undo()
    assert store_with_alice.read_bytes() == before
    assert sorted(p.name for p in store_with_alice.parent.iterdir()) == ["faces.json", "faces.json.lock"]


def _garbage(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, np.uint8).tobytes())


def _header_only(path, rgb):
    data = write_video(path, rgb).read_bytes()
    path.write_bytes(data[:data.index(b"movi") + 4])  # the stream headers, no frame


@pytest.mark.parametrize("kind", ["garbage", "header only", "empty"])
def test_an_unreadable_video_is_an_error_at_once(tmp_path, faces, store_with_alice, kind):
    video = tmp_path / "clip.avi"
    if kind == "garbage":
        _garbage(video)
    elif kind == "header only":
        _header_only(video, faces["astronaut"])
    else:
        video.write_bytes(b"")
    for command in (["enroll", "bob"], ["unlock", "--user", "alice"]):
        out = perceive(*command, "--video", str(video), "--store", str(store_with_alice), "--timeout", "120")
        error_line(out.returncode, out.stderr, "cannot read video", str(video))
        assert "reopening" not in out.stderr  # a file is not retried
    assert TemplateStore(store_with_alice, json.loads(store_with_alice.read_text())["model"]).names() == ["alice"]


def test_a_too_large_image_is_skipped_naming_the_file_and_the_limit(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(png_bomb(20000, 20000))
    with open(folder / "huge.jpg", "wb") as f:
        f.truncate(65 * 2**20)  # sparse: 65 MiB on paper, nothing on disk
    out = perceive("enroll", "bob", "--images", str(folder), "--store", str(tmp_path / "s.json"))
    error_line(out.returncode, out.stderr, "nothing was enrolled")
    assert "bomb.png: skipped: image is 20000x20000 pixels, over the limit of 50,000,000 pixels" in out.stderr
    assert "huge.jpg: skipped: file is 65.0 MiB, over the limit of 64 MiB for an image" in out.stderr
    assert not (tmp_path / "s.json").exists()


def test_a_video_with_frames_over_the_pixel_limit_is_refused_before_decoding(tmp_path, faces):
    from pipeline.cli.face_common import check_video_file
    from pipeline.errors import SourceError
    video = write_video(tmp_path / "clip.avi", faces["astronaut"])  # 640 x 480 frames
    check_video_file(str(video), max_pixels=640 * 480)
    with pytest.raises(SourceError, match="frames of 640x480 pixels, over the limit of 307,199 pixels"):
        check_video_file(str(video), max_pixels=640 * 480 - 1)
