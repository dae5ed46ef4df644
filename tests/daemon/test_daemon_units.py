"""The daemon's parts without a subprocess, the systemd files and the per-device example configs."""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.config.tree import load_config
from pipeline.daemon.config import EventSocketConfig
from pipeline.daemon.events import EventSocketServer
from pipeline.daemon.notify import Notifier, watchdog_interval_s
from pipeline.errors import ConfigError
from pipeline.runtime.stage import Event

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "perceive.service"
DEVICE_CONFIGS = sorted((ROOT / "deploy" / "configs").glob("*.toml"))
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze not installed (Debian package systemd)")


def verify(unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


def unit_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart pointing at an executable that exists here (verify checks it)."""
    path = tmp_path / "perceive.service"
    path.write_text(text.replace("/opt/perceive/venv/bin/perceive", sys.executable))
    return path


@needs_systemd
def test_unit_passes_systemd_analyze_verify(tmp_path):
    result = verify(unit_copy(tmp_path, UNIT.read_text()))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


@needs_systemd
def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: verify names a misspelt key and a bad value."""
    broken = UNIT.read_text().replace("Type=notify", "Type=notfy\nWatchdgSec=3")
    result = verify(unit_copy(tmp_path, broken))
    assert "notfy" in result.stderr and "WatchdgSec" in result.stderr


def test_unit_has_the_required_settings():
    lines = set(UNIT.read_text().splitlines())
    for wanted in ("Type=notify", "Restart=on-failure", "User=perceive", "StateDirectory=perceive",
                   "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes",
                   "DevicePolicy=closed", "DeviceAllow=char-video4linux rw", "DeviceAllow=char-alsa rw",
                   "RuntimeDirectory=perceive"):
        assert wanted in lines, wanted
    assert any(line.startswith("WatchdogSec=") for line in lines)
    assert any(line.startswith("SupplementaryGroups=") and "video" in line and "audio" in line for line in lines)


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers not installed")
def test_sysusers_file_creates_the_user_in_video_and_audio(tmp_path):
    (tmp_path / "etc").mkdir()
    result = subprocess.run(["systemd-sysusers", "--dry-run", f"--root={tmp_path}",
                             str(ROOT / "systemd" / "perceive.sysusers.conf")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Creating user 'perceive'" in result.stdout + result.stderr


@pytest.mark.parametrize("path", DEVICE_CONFIGS, ids=lambda p: p.stem)
def test_device_configs_validate(path):
    config = load_config(path)
    assert config.daemon.metrics.host == "127.0.0.1" and config.daemon.events.mode == "0660"
    assert config.pipelines


def test_device_configs_exist_for_each_target():
    assert {p.stem for p in DEVICE_CONFIGS} >= {"raspberrypi", "jetson", "linux"}
    jetson = load_config(ROOT / "deploy" / "configs" / "jetson.toml").engine
    assert jetson.providers[:2] == ["tensorrt", "cuda"] and jetson.tensorrt.fp16
    assert jetson.tensorrt.engine_cache_dir.startswith("/var/cache/perceive")


@pytest.mark.parametrize("script", sorted((ROOT / "deploy").glob("*.sh")), ids=lambda p: p.name)
def test_install_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_daemon_section_rejects_bad_values():
    with pytest.raises(ConfigError, match="daemon.events.mode: '0999' is not an octal"):
        load_config(None, ["daemon.events.mode='0999'"])
    with pytest.raises(ConfigError, match="unknown key 'prot'"):
        load_config(None, ["daemon.metrics.prot=1"])
    with pytest.raises(ConfigError, match="qos: expected 0, 1 or 2"):
        load_config(None, ["daemon.mqtt.qos=3"])


def test_event_socket_mode_and_json_lines(tmp_path):
    server = EventSocketServer(EventSocketConfig(path=str(tmp_path / "ev.sock"), mode="0640")).start()
    try:
        assert stat.S_IMODE(os.stat(tmp_path / "ev.sock").st_mode) == 0o640
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(tmp_path / "ev.sock"))
            deadline = time.monotonic() + 5
            while server.clients == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.publish(Event("keyword", "mic", {"word": "lights"}, latency_ms=12.5))
            client.settimeout(5)
            line = json.loads(client.recv(4096).decode().splitlines()[0])
        assert line["kind"] == "keyword" and line["data"] == {"word": "lights"} and line["latency_ms"] == 12.5
    finally:
        server.stop()
    assert not (tmp_path / "ev.sock").exists()


def test_event_socket_refuses_to_replace_a_regular_file(tmp_path):
    (tmp_path / "ev.sock").write_text("precious")
    with pytest.raises(ConfigError, match="exists and is not a socket"):
        EventSocketServer(EventSocketConfig(path=str(tmp_path / "ev.sock")))
    assert (tmp_path / "ev.sock").read_text() == "precious"


def test_full_event_queue_drops_and_counts_without_blocking(tmp_path):
    server = EventSocketServer(EventSocketConfig(path=str(tmp_path / "ev.sock"), queue=3))  # not started
    try:
        for i in range(10):
            server.publish(Event("text", "ocr", {"i": i}))
        assert server.counters["queued"] == 3 and server.counters["events_dropped"] == 7
    finally:
        server.stop()


def test_notifier_speaks_to_an_abstract_socket(monkeypatch):
    name = f"perceive-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(b"\0" + name.encode())
    listener.settimeout(5)
    with listener:
        notifier = Notifier("@" + name)
        assert notifier.ready("1 pipeline\nsecond line")
        assert listener.recv(4096) == b"READY=1\nSTATUS=1 pipeline second line"
        notifier.close()
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier().enabled and not Notifier().watchdog()


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval_s() == 2.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval_s() is None


def test_a_busy_metrics_port_is_a_config_error_naming_the_key():
    from pipeline.daemon.config import MetricsConfig
    from pipeline.daemon.metrics import Metrics
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"daemon.metrics: cannot listen on 127.0.0.1:{port}"):
            Metrics(MetricsConfig(port=port), lambda: [], dict).start()
    finally:
        taken.close()
