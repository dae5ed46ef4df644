"""Enrol, then unlock on real face photos; the enrolled person is accepted and others are not."""
import json
import os
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest

from pipeline.skills.face.store import StoreError, TemplateStore
from tests.face.conftest import write_images, write_video


def perceive(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *args], capture_output=True,
                          text=True, timeout=300)


def test_enrol_then_unlock_accepts_the_person_and_rejects_others(tmp_path, faces, astronaut_variants):
    store = tmp_path / "state" / "faces.json"
    enrol = perceive("enroll", "eileen", "--images", str(write_images(tmp_path / "eileen", astronaut_variants)),
                     "--store", str(store))
    assert enrol.returncode == 0, enrol.stderr
    assert "enrolled eileen with" in enrol.stdout
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert json.loads(store.read_text())["people"]["eileen"]["templates"]

    # identity only: these clips repeat a still photo, which liveness refuses (tests/face/test_liveness_unlock.py)
    ok = perceive("unlock", "--video", str(write_video(tmp_path / "eileen.avi", faces["astronaut"])),
                  "--store", str(store), "--timeout", "20", "--no-liveness")
    assert ok.returncode == 0, ok.stderr
    assert "unlocked: eileen" in ok.stdout
    for stranger in ("grace_hopper", "lfw_000", "lfw_001"):
        no = perceive("unlock", "--video", str(write_video(tmp_path / f"{stranger}.avi", faces[stranger])),
                      "--store", str(store), "--timeout", "20", "--no-liveness")
        assert no.returncode == 1, (stranger, no.stdout, no.stderr)

    assert "eileen: " in perceive("enroll", "--list", "--store", str(store)).stdout
    assert perceive("enroll", "--remove", "eileen", "--store", str(store)).returncode == 0
    gone = perceive("unlock", "--video", str(tmp_path / "eileen.avi"), "--store", str(store))
    assert gone.returncode == 2 and "perceive enroll NAME" in gone.stderr


def test_bad_enrolment_images_are_explained(tmp_path, faces):
    two = np.concatenate([cv2.resize(faces["astronaut"], (400, 400)), cv2.resize(faces["grace_hopper"], (400, 400))],
                         axis=1)
    tiny = cv2.resize(faces["astronaut"], (48, 48))
    folder = write_images(tmp_path / "bad", [np.full((300, 300, 3), 128, np.uint8), two, tiny])
    (folder / "03.png").write_bytes(b"\x89PNG not really")
    out = perceive("enroll", "nobody", "--images", str(folder), "--store", str(tmp_path / "s.json"))
    assert out.returncode == 2
    assert "00.png: skipped: no face found" in out.stderr
    assert "01.png: skipped: 2 faces" in out.stderr
    assert "02.png: skipped: no face found" in out.stderr  # 48 px image: below the 60 px minimum face
    assert "03.png: skipped: not a readable image" in out.stderr
    assert "nothing was enrolled" in out.stderr and not (tmp_path / "s.json").exists()


def test_missing_camera_is_an_error_that_suggests_a_video():
    out = perceive("unlock", "--camera", "7", "--timeout", "3", "--store", "/nonexistent/faces.json")
    assert out.returncode == 2


def test_store_survives_a_crash_mid_write(tmp_path, monkeypatch):
    store = TemplateStore(tmp_path / "faces.json", "m")
    store.add("alice", np.ones((2, 128), np.float32) / np.sqrt(128))

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StoreError, match="power cut; the previous store is unchanged"):
        store.add("bob", np.ones((1, 128), np.float32))
    monkeypatch.undo()
    again = TemplateStore(tmp_path / "faces.json", "m")
    assert again.names() == ["alice"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces.json", "faces.json.lock"]  # no temporary file


def test_store_of_another_model_is_refused(tmp_path):
    TemplateStore(tmp_path / "f.json", "old-model").add("a", np.zeros((1, 128)))
    with pytest.raises(StoreError, match="re-enrol"):
        TemplateStore(tmp_path / "f.json", "new-model")
    (tmp_path / "g.json").write_text("{broken")
    with pytest.raises(StoreError, match="unreadable"):
        TemplateStore(tmp_path / "g.json", "m")
