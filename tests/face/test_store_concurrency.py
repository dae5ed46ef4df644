"""Two processes changing the face store at once both keep their change (real processes, no sleeps as sync).

The old store let an enrolment that read the store before a removal write the removed
person back (``unlock --user alice`` then succeeded), and of two enrolments at once only
the last one survived. Each test pauses one process at a known point and waits for an
observable event (a FIFO opened, a file written, a log line) before going on.
"""
import errno
import fcntl
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from pipeline.skills.face import store as store_module
from pipeline.skills.face.store import StoreError, TemplateStore
from tests.face.conftest import write_images, write_video

WAIT_S = 120.0  # generous: two CPU cores are shared by several test runs
POLL_S = 0.05


def perceive(*args, quiet=True):
    return [sys.executable, "-m", "pipeline.cli.main", *(["-q"] if quiet else []), *args]


def run(*args):
    return subprocess.run(perceive(*args), capture_output=True, text=True, timeout=300)


def wait_until(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)


def open_fifo_writer(path, process):
    """The write end of ``path`` once ``process`` has opened it for reading (ENXIO until then)."""
    fd = []

    def opened():
        assert process.poll() is None, process.communicate()
        try:
            fd.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            return True
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            return False
    wait_until(opened, f"{process.args} to open {path}")
    return fd[0]


@pytest.fixture
def enrolled_alice(tmp_path, models):
    """A store in which alice is enrolled (random unit templates of the real model's shape)."""
    _, embedder = models
    path = tmp_path / "state" / "faces.json"
    rows = np.random.default_rng(0).normal(size=(3, embedder.dim)).astype(np.float32)
    TemplateStore(path, embedder.engine.contract.name, embedder.dim).add(
        "alice", rows / np.linalg.norm(rows, axis=1, keepdims=True))
    return path, embedder.engine.contract.name


def test_removal_and_enrolment_during_an_enrolment_all_survive(tmp_path, faces, astronaut_variants, enrolled_alice):
    store, model = enrolled_alice
    carol_dir = write_images(tmp_path / "carol", astronaut_variants)
    os.mkfifo(carol_dir / "zz_pause.png")  # carol's enrolment stops here, after it has read the store
    carol = subprocess.Popen(perceive("enroll", "carol", "--images", str(carol_dir), "--store", str(store)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pause = open_fifo_writer(carol_dir / "zz_pause.png", carol)
        removed = run("enroll", "--remove", "alice", "--store", str(store))
        assert removed.returncode == 0 and "removed alice" in removed.stdout, removed.stderr
        bob = run("enroll", "bob", "--images", str(write_images(tmp_path / "bob", astronaut_variants)),
                  "--store", str(store))
        assert bob.returncode == 0 and "enrolled bob" in bob.stdout, bob.stderr
        os.write(pause, b"not an image")
        os.close(pause)
        out, err = carol.communicate(timeout=300)
    finally:
        carol.kill()
    assert carol.returncode == 0 and "enrolled carol" in out, err
    assert "zz_pause.png: skipped: not a readable image" in err
    assert TemplateStore(store, model).names() == ["bob", "carol"]  # alice stays removed, bob is kept
    video = write_video(tmp_path / "astronaut.avi", faces["astronaut"])
    alice = run("unlock", "--user", "alice", "--video", str(video), "--store", str(store), "--timeout", "20")
    assert alice.returncode == 2 and "nobody to unlock: alice is enrolled" in alice.stderr


HOLDER = """
import sys, pathlib, time
import numpy as np
from pipeline.skills.face.store import TemplateStore
path, model, dim, ready, go = sys.argv[1:]
def change(people):  # runs under the store's lock, after the store was re-read
    pathlib.Path(ready).touch()
    deadline = time.monotonic() + {wait}
    while not pathlib.Path(go).exists():
        assert time.monotonic() < deadline, "never told to go on"
        time.sleep({poll})
    people["dave"] = {{"templates": np.eye(1, int(dim)).tolist(), "enrolled_at": "now"}}
    return True
TemplateStore(path, model, int(dim))._change(change)
""".format(wait=WAIT_S, poll=POLL_S)


def test_a_change_waits_for_the_lock_and_both_changes_survive(tmp_path, enrolled_alice, models):
    store, model = enrolled_alice
    ready, go = tmp_path / "ready", tmp_path / "go"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store), model, str(models[1].dim), str(ready),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    remover = None
    try:
        wait_until(ready.exists, "the holder to take the lock")
        remover = subprocess.Popen(perceive("enroll", "--remove", "alice", "--store", str(store), quiet=False),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in remover.stderr], daemon=True).start()
        while "is held by another process; waiting" not in (line := lines.get(timeout=WAIT_S)):
            pass
        assert remover.poll() is None  # it waits instead of removing from the store it read first
        go.touch()
        assert holder.wait(timeout=WAIT_S) == 0, holder.communicate()
        assert remover.wait(timeout=WAIT_S) == 0
        assert "removed alice" in remover.stdout.read()
    finally:
        for process in (holder, remover):
            if process is not None:
                process.kill()
    assert TemplateStore(store, model).names() == ["dave"]  # the holder's change and the removal both survive


def test_a_lock_held_too_long_is_an_error_and_changes_nothing(tmp_path, monkeypatch):
    store = TemplateStore(tmp_path / "faces.json", "m")
    store.add("alice", np.ones((1, 4), np.float32))
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.3)
    with open(store.lock_path) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another open file description: flock conflicts even in one process
        with pytest.raises(StoreError, match="still held by another process after 0 s; nothing was changed"):
            TemplateStore(tmp_path / "faces.json", "m").remove("alice")
    assert TemplateStore(tmp_path / "faces.json", "m").names() == ["alice"]


def test_append_extends_what_is_on_disk_not_what_was_read(tmp_path):
    first, second = TemplateStore(tmp_path / "faces.json", "m", 4), TemplateStore(tmp_path / "faces.json", "m", 4)
    assert first.append("alice", np.eye(1, 4)) == 1
    assert second.append("alice", np.eye(2, 4)) == 3  # second read the store before first wrote
    assert TemplateStore(tmp_path / "faces.json", "m", 4).templates()["alice"].shape == (3, 4)


def test_a_store_over_the_size_limit_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "faces.json"
    with open(path, "wb") as f:
        f.truncate(store_module.MAX_STORE_BYTES + 1)  # sparse
    with pytest.raises(StoreError, match="is over the limit of 32 MiB"):
        TemplateStore(path, "m")
