"""Events reach a real MQTT broker (mosquitto) with Home Assistant discovery and availability."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.daemon.daemon_harness import DaemonProcess, daemon_section, imu_pipeline

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = pytest.mark.skipif(not shutil.os.path.exists(MOSQUITTO),
                                reason="mosquitto not installed (Debian package mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "mosquitto did not start"
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


class Subscriber:
    def __init__(self, port: int):
        import paho.mqtt.client as mqtt
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("#", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, msg.retain))

    def wait(self, topic: str, payload: bytes | None = None, timeout: float = 20) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for t, p, _ in self.messages:
                    if t == topic and (payload is None or p == payload):
                        return p
            time.sleep(0.05)
        raise AssertionError(f"nothing on {topic}; topics seen: {sorted({t for t, _, _ in self.messages})}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_events_discovery_and_availability_on_mqtt(broker, tmp_path):
    sub = Subscriber(broker)
    config = tmp_path / "perceive.toml"
    config.write_text(daemon_section(tmp_path) + f"""
[daemon.mqtt]
enabled = true
host = "127.0.0.1"
port = {broker}
node_id = "Test Node"
""" + imu_pipeline())
    d = DaemonProcess(config, tmp_path)
    try:
        d.notify.wait_for("READY")
        assert sub.wait("perceive/test_node/status", b"online")
        discovery = json.loads(sub.wait("homeassistant/event/test_node_imu_activity/config"))
        assert discovery["state_topic"] == "perceive/test_node/imu/activity"
        assert discovery["event_types"] == ["activity"]
        assert discovery["availability_topic"] == "perceive/test_node/status"
        event = json.loads(sub.wait("perceive/test_node/imu/activity"))
        assert event["event_type"] == "activity" and event["pipeline"] == "imu"
        assert event["data"]["activity"] in ("standing", "walking", "running", "badminton")
        d.stop()
        assert d.proc.returncode == 0
        assert sub.wait("perceive/test_node/status", b"offline")
    finally:
        d.close()
        sub.close()
