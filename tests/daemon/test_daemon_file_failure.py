"""The real daemon with one pipeline whose file cannot be read: that pipeline is reported failed (status
line, metrics, log), the others keep serving, the watchdog keeps pinging (a restart cannot fix a file),
and a SIGHUP after the file is fixed brings the pipeline back."""
from __future__ import annotations

import shutil
import signal
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest

from pipeline.daemon import health
from pipeline.errors import SourceError
from tests.daemon.daemon_harness import ACTIVITIES, DaemonProcess, daemon_section, imu_pipeline, read_events

WAIT_S = 20.0


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def series(text: str, name: str) -> float | None:
    """The value of one exact series (name with labels), or None when it is not exported."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_status(d: DaemonProcess, predicate, after: int = 0) -> str:
    """The first STATUS= message (from index ``after`` on) for which ``predicate`` holds."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for message in d.notify.with_key("STATUS")[after:]:
            if predicate(message["STATUS"]):
                return message["STATUS"]
        assert d.proc.poll() is None, f"daemon exited: {d.log_path.read_text()[-3000:]}"
        time.sleep(0.05)
    raise AssertionError(f"no such STATUS in {WAIT_S} s: {d.notify.with_key('STATUS')[-3:]}")


@pytest.fixture
def daemon(tmp_path):
    started = []

    def start(text: str) -> DaemonProcess:
        (tmp_path / "perceive.toml").write_text(text)
        d = DaemonProcess(tmp_path / "perceive.toml", tmp_path)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_pipeline_whose_file_fails_is_reported_failed_and_comes_back_on_reload(daemon, tmp_path, kind):
    """A file that cannot be opened fails even with loop = true (only a replay that has played is
    reopened); a CSV of garbage is not a failure: its lines are counted as rejected."""
    data = tmp_path / "bad.csv"
    if kind == "directory":
        data.mkdir()
    config = daemon_section(tmp_path) + imu_pipeline("imu") + imu_pipeline("bad", data)
    d = daemon(config)
    port = d.metrics_port
    d.notify.wait_for("READY")

    status = wait_status(d, lambda s: s.startswith("failed:"))
    assert status.startswith("failed: pipeline bad: ") and str(data) in status, status
    assert "2 pipelines (1 failed)" in status and "STUCK" not in status
    text = scrape(port)
    assert series(text, 'perceive_pipeline_failed{pipeline="bad"}') == 1
    assert series(text, 'perceive_pipeline_failed{pipeline="imu"}') == 0
    assert series(text, 'perceive_crashes_total{pipeline="bad"}') == 1
    assert series(text, 'perceive_crashes_total{pipeline="imu"}') == 0
    assert series(text, "perceive_healthy") == 0
    stopped = d.wait_log("pipeline bad stopped")
    assert stopped["level"] == "error" and str(data) in stopped["msg"]
    assert "Traceback" not in d.log_path.read_text()

    # the other pipeline keeps serving and the watchdog keeps pinging: no restart loop over one bad file
    assert {e["pipeline"] for e in read_events(tmp_path / "events.sock", count=3)} == {"imu"}
    pings = len(d.notify.with_key("WATCHDOG"))
    d.notify.wait_for("WATCHDOG", count=pings + 2)
    assert d.proc.poll() is None

    if kind == "directory":
        data.rmdir()
    shutil.copy(ACTIVITIES, data)   # the file is fixed; a reload brings the pipeline back
    statuses = len(d.notify.with_key("STATUS"))
    d.signal(signal.SIGHUP)
    d.wait_log("reloaded:")
    wait_status(d, lambda s: s.startswith("2 pipelines,"), after=statuses)
    deadline = time.monotonic() + WAIT_S
    while "bad" not in {e["pipeline"] for e in read_events(tmp_path / "events.sock", count=20)}:
        assert time.monotonic() < deadline, "the fixed pipeline sends no events"
    text = scrape(port)
    assert series(text, 'perceive_pipeline_failed{pipeline="bad"}') == 0
    assert series(text, "perceive_healthy") == 1
    assert series(text, 'perceive_crashes_total{pipeline="bad"}') == 1   # counters never go backwards


def test_a_missing_device_is_waited_for_not_failed(daemon, tmp_path):
    """wait_for_device unset: the daemon waits for a device that is not there yet (it may boot first)."""
    device = tmp_path / "ttyUSB-later"
    serial = (f'[[pipelines]]\nname = "dev"\n[pipelines.source]\ntype = "serial"\npath = "{device}"\n'
              'channels = ["ax"]\nreconnect_initial_s = 0.1\nreconnect_max_s = 0.2\n'
              '[[pipelines.stages]]\ntype = "delay"\nms = 1\n')
    d = daemon(daemon_section(tmp_path) + imu_pipeline("imu") + serial)
    port = d.metrics_port
    d.notify.wait_for("READY")
    d.wait_log("source dev failed")   # the back-off warning: retried, not given up
    deadline = time.monotonic() + WAIT_S
    while series(scrape(port), 'perceive_source_reconnects_total{pipeline="dev"}') < 2:
        assert time.monotonic() < deadline, "the missing device is not retried"
        time.sleep(0.1)
    text = scrape(port)
    assert series(text, 'perceive_pipeline_failed{pipeline="dev"}') == 0
    assert series(text, 'perceive_pipeline_running{pipeline="dev"}') == 1
    assert not any(m["STATUS"].startswith("failed") for m in d.notify.with_key("STATUS"))


def stopped_runner(name: str, error: Exception | None, source_error: Exception | None = None):
    """What health reads of a runner whose thread has ended."""
    finished = threading.Event()
    if source_error is not None or error is None:
        finished.set()
    source = SimpleNamespace(finished=finished, error=source_error, counters={"reconnects": 0})
    return SimpleNamespace(config=SimpleNamespace(name=name), error=error, source=source, running=False,
                           counters={"processed": 7, "crashes": int(error is not None)})


def test_bad_input_is_failed_a_bug_is_stuck_and_an_ended_file_is_done():
    bad_file = SourceError("video file not found: /data/x.mp4")
    runners = [stopped_runner("done", None), stopped_runner("bad", bad_file, bad_file),
               stopped_runner("gone", None, bad_file)]   # the source failed; the runner ended quietly
    state = health.check(runners, stall_s=5.0)
    assert state.ok and not state.healthy
    assert state.failed == [f"pipeline bad: {bad_file}", f"pipeline gone: {bad_file}"]
    assert state.summary == (f"failed: pipeline bad: {bad_file} (+1 more); "
                             "3 pipelines (1 finished, 2 failed), 21 items, 0 reconnects")
    bug = health.check([stopped_runner("bug", RuntimeError("index out of range"))], stall_s=5.0)
    assert not bug.ok and bug.failed == [] and bug.summary == "STUCK: pipeline bug: thread stopped (1 crashes)"
