"""The daemon as a black box: a subprocess on replayed sources, seen through its real interfaces."""
from __future__ import annotations

import shutil
import signal
import time
import urllib.request

import pytest

from tests.daemon.daemon_harness import (ACTIVITIES, DaemonProcess, daemon_section, imu_pipeline,
                                         read_events)

STOP_LIMIT_S = 2.0

VIDEO_PIPELINE = """
[[pipelines]]
name = "cam"
[pipelines.source]
type = "synthetic_video"
width = 160
height = 120
fps = 30
[[pipelines.stages]]
type = "delay"
ms = 1
"""


@pytest.fixture
def daemon(tmp_path):
    started = []

    def start(text: str, **kwargs) -> DaemonProcess:
        config = tmp_path / "perceive.toml"
        config.write_text(text)
        d = DaemonProcess(config, tmp_path, **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric_value(text: str, prefix: str) -> float:
    """Sum of the samples whose line starts with ``prefix`` (name plus optional labels)."""
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)]
    assert values, f"no series {prefix!r} in metrics"
    return sum(values)


def test_notify_events_metrics_and_clean_stop(daemon, tmp_path):
    d = daemon(daemon_section(tmp_path) + imu_pipeline() + VIDEO_PIPELINE)
    ready = d.notify.wait_for("READY")[0]
    assert ready["READY"] == "1" and "2 pipelines" in ready["STATUS"]
    d.notify.wait_for("WATCHDOG", count=2)

    events = read_events(tmp_path / "events.sock", count=5)
    assert {e["kind"] for e in events} == {"activity"}
    assert all(e["pipeline"] == "imu" and e["data"]["activity"] in
               ("standing", "walking", "running", "badminton") for e in events)
    assert oct((tmp_path / "events.sock").stat().st_mode & 0o777) == "0o660"

    text = scrape(d.metrics_port)
    assert metric_value(text, 'perceive_stage_latency_seconds_count{pipeline="imu",stage="activity"}') > 0
    assert metric_value(text, 'perceive_stage_latency_seconds_count{pipeline="cam",stage="delay"}') > 0
    assert metric_value(text, 'perceive_e2e_latency_seconds_bucket{le="+Inf",pipeline="imu"}') > 0
    assert metric_value(text, 'perceive_model_provider{model="har.onnx",pipeline="imu",provider="cpu",'
                              'stage="activity"}') == 1
    for series in ("perceive_source_reconnects_total", "perceive_source_dropped_total",
                   "perceive_dropped_stale_total", "perceive_budget_misses_total",
                   "perceive_stage_budget_misses_total", "perceive_events_total"):
        assert metric_value(text, series) >= 0
    assert metric_value(text, "perceive_events_total") >= 5
    assert metric_value(text, 'perceive_source_read_total{pipeline="imu"}') > 0
    assert metric_value(text, 'perceive_source_read_total{pipeline="cam"}') > 0
    assert any(m.get("STATUS", "").startswith("2 pipelines") for m in d.notify.with_key("STATUS")[1:])

    took = d.stop()
    assert d.proc.returncode == 0
    assert took < STOP_LIMIT_S, f"SIGTERM took {took:.2f} s"
    assert d.notify.wait_for("STOPPING")[0]["STOPPING"] == "1"
    assert not (tmp_path / "events.sock").exists()


def test_sighup_rejects_bad_configs_and_applies_a_good_one(daemon, tmp_path):
    good = daemon_section(tmp_path) + imu_pipeline("imu")
    d = daemon(good)
    d.notify.wait_for("READY")
    config = tmp_path / "perceive.toml"

    config.write_text(good + "\n[engine]\nprovders = ['cpu']\n")
    d.signal(signal.SIGHUP)
    line = d.wait_log("reload rejected")
    assert "unknown key 'provders'" in line["reason"]

    config.write_text(good.replace('type = "activity"', 'type = "activity"\nmodel = "no_such_model"'))
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while len([x for x in d.logs() if "reload rejected" in x.get("msg", "")]) < 2:
        assert time.monotonic() < deadline, "second bad reload not logged"
        time.sleep(0.05)
    reasons = [x["reason"] for x in d.logs() if "reload rejected" in x.get("msg", "")]
    assert "model 'no_such_model' not found" in reasons[1]

    # the old pipeline still runs: events keep coming from it and the watchdog keeps pinging
    assert {e["pipeline"] for e in read_events(tmp_path / "events.sock", count=3)} == {"imu"}
    pings = len(d.notify.with_key("WATCHDOG"))
    d.notify.wait_for("WATCHDOG", count=pings + 2)
    assert d.proc.poll() is None

    config.write_text(daemon_section(tmp_path) + imu_pipeline("imu2"))
    d.signal(signal.SIGHUP)
    d.wait_log("reloaded:")
    assert {e["pipeline"] for e in read_events(tmp_path / "events.sock", count=3)} == {"imu2"}
    assert d.notify.with_key("RELOADING")


def test_watchdog_keeps_pinging_while_a_reload_loads_slow_models(daemon, tmp_path):
    good = daemon_section(tmp_path) + imu_pipeline("imu")
    d = daemon(good)
    d.notify.wait_for("READY")
    slow_build = VIDEO_PIPELINE.replace("ms = 1", "ms = 1\nstartup_ms = 3000")  # 3 watchdog periods
    (tmp_path / "perceive.toml").write_text(good + slow_build)
    d.signal(signal.SIGHUP)
    d.wait_log("reloaded:")
    messages = list(d.notify.messages)
    start = next(i for i, m in enumerate(messages) if "RELOADING" in m)
    end = next(i for i, m in enumerate(messages) if i > start and "READY" in m)
    pings_during_build = [m for m in messages[start:end] if "WATCHDOG" in m]
    assert len(pings_during_build) >= 4, messages   # WATCHDOG_USEC = 1 s: a ping every 0.5 s


def test_a_source_whose_file_vanishes_comes_back(daemon, tmp_path):
    data = tmp_path / "imu.csv"
    shutil.copy(ACTIVITIES, data)
    d = daemon(daemon_section(tmp_path) + imu_pipeline("imu", data))
    port = d.metrics_port
    d.notify.wait_for("READY")
    read_events(tmp_path / "events.sock", count=2)

    data.rename(tmp_path / "away.csv")
    d.wait_log("failed")  # the source's warning names the missing file and the back-off
    time.sleep(0.5)
    reconnects = metric_value(scrape(port), 'perceive_source_reconnects_total{pipeline="imu"}')
    assert reconnects >= 1
    assert d.proc.poll() is None

    (tmp_path / "away.csv").rename(data)
    events = read_events(tmp_path / "events.sock", count=3)  # new events: the source reopened
    assert all(e["pipeline"] == "imu" for e in events)
    assert metric_value(scrape(port), 'perceive_source_reconnects_total{pipeline="imu"}') >= reconnects


def test_watchdog_is_withheld_while_a_stage_is_stuck_and_sigterm_still_stops(daemon, tmp_path):
    stuck = VIDEO_PIPELINE.replace('name = "cam"', 'name = "slow"').replace("ms = 1", "ms = 600000")
    d = daemon(daemon_section(tmp_path, stall_s=0.5) + imu_pipeline() + stuck)
    d.notify.wait_for("READY")
    deadline = time.monotonic() + 20
    while not any(m["STATUS"].startswith("STUCK") for m in d.notify.with_key("STATUS")):
        assert time.monotonic() < deadline, d.notify.messages
        time.sleep(0.05)
    pings = len(d.notify.with_key("WATCHDOG"))
    time.sleep(1.5)  # three ping intervals at WATCHDOG_USEC = 1 s
    assert len(d.notify.with_key("WATCHDOG")) == pings
    assert "stage delay busy for" in d.notify.with_key("STATUS")[-1]["STATUS"]
    assert "pipeline slow" in d.wait_log("watchdog withheld")["msg"]

    took = d.stop()
    assert took < STOP_LIMIT_S, f"SIGTERM with a stuck stage took {took:.2f} s"


def test_a_slow_event_reader_is_dropped_and_counted(daemon, tmp_path):
    import socket
    small = daemon_section(tmp_path).replace("[daemon.metrics]", "client_buffer_kb = 4\n[daemon.metrics]")
    d = daemon(small + imu_pipeline())
    port = d.metrics_port
    d.notify.wait_for("READY")
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(str(tmp_path / "events.sock"))
    deadline = time.monotonic() + 30
    while metric_value(scrape(port), "perceive_event_socket_slow_consumers_total") < 1:
        assert time.monotonic() < deadline, "a reader that never reads was not dropped"
        time.sleep(0.2)
    before = metric_value(scrape(port), 'perceive_processed_total{pipeline="imu"}')
    time.sleep(0.5)
    assert metric_value(scrape(port), 'perceive_processed_total{pipeline="imu"}') > before
    assert len(read_events(tmp_path / "events.sock", count=2)) == 2  # others still served
    lazy.close()
