"""The real daemon against bad input: configs it must refuse, a second daemon, a stale socket, and
event-socket clients that misbehave in every way a client can."""
from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.daemon.config import MAX_UNIX_PATH_BYTES
from pipeline.daemon.events import MAX_CLIENTS
from tests.daemon.daemon_harness import ROOT, DaemonProcess, daemon_section, imu_pipeline, read_events

START_TIMEOUT_S = 60
REFUSED_EXTRA_CLIENTS = 5
GARBAGE = bytes(range(256)) * 64  # 16 kB of everything, including NULs and invalid UTF-8


@pytest.fixture
def daemon(tmp_path):
    started = []

    def start(text: str, **kwargs) -> DaemonProcess:
        (tmp_path / "perceive.toml").write_text(text)
        d = DaemonProcess(tmp_path / "perceive.toml", tmp_path, **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def run_daemon_once(config: Path) -> subprocess.CompletedProcess:
    """A daemon expected to refuse to start: no NOTIFY_SOCKET, output captured."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "daemon", "--config", str(config)],
                          capture_output=True, text=True, timeout=START_TIMEOUT_S, env=env, cwd=ROOT)


def assert_refused(proc: subprocess.CompletedProcess, *names: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perceive: error: "), proc.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " "))


def test_configs_the_daemon_refuses_at_start(tmp_path):
    good = daemon_section(tmp_path) + imu_pipeline()
    cases = {
        "empty": ("", ["the config is empty"]),
        "no pipelines": (daemon_section(tmp_path), ["pipelines: none configured"]),
        "port": (good.replace("port = 0", "port = 99999"), ["daemon.metrics.port", "65535"]),
        "long socket path": (good.replace(str(tmp_path / "events.sock"), "/tmp/" + "p" * 120),
                             ["daemon.events.path", f"{MAX_UNIX_PATH_BYTES}-byte limit"]),
        "binary": (b"\x00\xff\xfe" * 100, ["not UTF-8"]),
        "metrics host": (good.replace("port = 0", 'port = 0\nhost = "' + "h" * 300 + '"'),
                         ["daemon.metrics.host", "not a host name"]),
    }
    for case, (content, names) in cases.items():
        config = tmp_path / f"{case.replace(' ', '_')}.toml"
        config.write_bytes(content if isinstance(content, bytes) else content.encode())
        where = [] if case == "metrics host" else [str(config)]  # found when listening, not when loading
        assert_refused(run_daemon_once(config), *where, *names)
    assert not (tmp_path / "events.sock").exists()


def test_empty_config_at_reload_keeps_the_running_pipelines(daemon, tmp_path):
    good = daemon_section(tmp_path) + imu_pipeline("imu")
    d = daemon(good)
    d.notify.wait_for("READY")
    port = d.metrics_port
    (tmp_path / "perceive.toml").write_text("")
    d.signal(signal.SIGHUP)
    line = d.wait_log("reload rejected")
    assert str(tmp_path / "perceive.toml") in line["reason"] and "the config is empty" in line["reason"]
    assert {e["pipeline"] for e in read_events(tmp_path / "events.sock", count=3)} == {"imu"}
    text = scrape(port)
    assert metric(text, "perceive_reload_failures_total") == 1 and metric(text, "perceive_reloads_total") == 0
    assert d.proc.poll() is None


def test_a_second_daemon_on_the_same_socket_is_refused(daemon, tmp_path):
    d = daemon(daemon_section(tmp_path) + imu_pipeline())
    d.notify.wait_for("READY")
    sock_path = tmp_path / "events.sock"
    inode = sock_path.stat().st_ino
    second = tmp_path / "second.toml"
    second.write_text((tmp_path / "perceive.toml").read_text())
    assert_refused(run_daemon_once(second), "daemon.events.path", str(sock_path), "another process")
    assert sock_path.stat().st_ino == inode  # the first daemon's socket is untouched ...
    assert len(read_events(sock_path, count=2)) == 2  # ... and still serves
    d.stop()
    assert not sock_path.exists()  # removed by its owner on exit


def test_a_stale_socket_is_replaced(daemon, tmp_path):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "events.sock"))  # bound, never listening: what a killed daemon leaves
    stale.close()
    d = daemon(daemon_section(tmp_path) + imu_pipeline())
    d.notify.wait_for("READY")
    assert len(read_events(tmp_path / "events.sock", count=2)) == 2


def test_a_socket_file_that_is_no_longer_ours_is_left_in_place(daemon, tmp_path):
    d = daemon(daemon_section(tmp_path) + imu_pipeline())
    d.notify.wait_for("READY")
    sock_path = tmp_path / "events.sock"
    sock_path.unlink()  # someone else (a newer daemon) took the path over
    newcomer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    newcomer.bind(str(sock_path))
    newcomer_inode = sock_path.stat().st_ino
    try:
        d.stop()
        assert d.proc.returncode == 0
        assert sock_path.exists() and sock_path.stat().st_ino == newcomer_inode
        assert "replaced by someone else" in d.log_path.read_text()
    finally:
        newcomer.close()


def connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))  # blocking: with a timeout, a full accept backlog fails at once with EAGAIN
    s.settimeout(10)
    return s


def is_refused(s: socket.socket) -> bool:
    """A refused client reads end-of-file at once; an accepted one waits for events."""
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False


def test_event_socket_caps_clients_and_survives_misbehaving_ones(daemon, tmp_path):
    # A buffer large enough that no test client is dropped as slow while the cap is checked.
    big = daemon_section(tmp_path).replace("[daemon.metrics]", "client_buffer_kb = 65536\n[daemon.metrics]")
    d = daemon(big + imu_pipeline())
    d.notify.wait_for("READY")
    port = d.metrics_port
    path = tmp_path / "events.sock"
    clients = [connect(path) for _ in range(MAX_CLIENTS)]  # none of them ever reads
    deadline = time.monotonic() + 20
    while metric(scrape(port), "perceive_event_socket_clients") < MAX_CLIENTS:
        assert time.monotonic() < deadline, "the daemon did not accept MAX_CLIENTS clients"
        time.sleep(0.05)
    extras = [connect(path) for _ in range(REFUSED_EXTRA_CLIENTS)]
    assert all(is_refused(s) for s in extras)
    assert metric(scrape(port), "perceive_event_socket_refused_total") == REFUSED_EXTRA_CLIENTS
    for s in extras:
        s.close()

    # Now every kind of misbehaviour at once: garbage, half-close, reset, vanish while unread.
    for i, s in enumerate(clients):
        kind = i % 4
        try:
            if kind == 0:
                s.sendall(GARBAGE)
            elif kind == 1:
                s.shutdown(socket.SHUT_WR)
            elif kind == 2:  # close with SO_LINGER 0: the daemon sees a connection reset
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        except OSError:
            pass
    for s in clients:
        s.close()
    deadline = time.monotonic() + 20
    while metric(scrape(port), "perceive_event_socket_clients") > 0:
        assert time.monotonic() < deadline, "closed clients were not let go"
        time.sleep(0.05)

    # The sender thread is alive and serves a well-behaved reader.
    assert {e["pipeline"] for e in read_events(path, count=3)} == {"imu"}
    assert d.proc.poll() is None
    assert "Traceback" not in d.log_path.read_text()


@pytest.mark.parametrize("content, reason", [(b"\xff\xfe\x00secret", "not UTF-8"),
                                             (b"x" * 100_000, "larger than")])
def test_mqtt_password_file_that_is_not_a_password(tmp_path, content, reason):
    pytest.importorskip("paho.mqtt", reason="the daemon extra")
    from pipeline.daemon.config import MqttConfig
    from pipeline.daemon.mqtt import MqttSink
    from pipeline.errors import ConfigError
    secret = tmp_path / "secret"
    secret.write_bytes(content)
    with pytest.raises(ConfigError, match=f"daemon.mqtt.password_file: {secret} is {reason}"):
        MqttSink(MqttConfig(enabled=True, username="u", password_file=str(secret)))
