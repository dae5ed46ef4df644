"""Runs `perceive daemon` as a subprocess with a test NOTIFY_SOCKET, and reads what it says."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACTIVITIES = ROOT / "tests" / "sensor" / "fixtures" / "activities.csv"
IMU_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def imu_pipeline(name: str = "imu", path: Path = ACTIVITIES) -> str:
    """A looping as-fast-as-possible replay of the activity fixture into the shipped har model."""
    return f"""
[[pipelines]]
name = "{name}"
[pipelines.source]
type = "sensor_file"
path = "{path}"
channels = {json.dumps(IMU_CHANNELS)}
sample_rate_hz = 10.0
block = 16
pace = "asap"
loop = true
reconnect_initial_s = 0.1
reconnect_max_s = 0.2
[[pipelines.stages]]
type = "activity"
"""


def daemon_section(tmp: Path, stall_s: float = 5.0) -> str:
    return f"""
log_level = "info"
[daemon.events]
path = "{tmp / 'events.sock'}"
[daemon.metrics]
port = 0
[daemon.watchdog]
status_interval_s = 0.5
stall_s = {stall_s}
"""


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET; collects every message."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096).decode()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.messages.append(dict(line.split("=", 1) for line in data.splitlines()))

    def with_key(self, key: str) -> list[dict[str, str]]:
        with self._lock:
            return [m for m in self.messages if key in m]

    def wait_for(self, key: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_key(key)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} x {key} not received in {timeout} s; got {self.messages}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


class DaemonProcess:
    def __init__(self, config: Path, tmp: Path, watchdog_usec: int = 1_000_000):
        self.notify = NotifyListener(tmp / "notify.sock")
        self.log_path = tmp / "daemon.log"
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify.path), "WATCHDOG_USEC": str(watchdog_usec),
               "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        env.pop("WATCHDOG_PID", None)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli.main", "daemon", "--config", str(config)],
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def logs(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                lines.append({"msg": raw, "level": "raw"})
        return lines

    def wait_log(self, text: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.logs():
                if text in line.get("msg", ""):
                    return line
            assert self.proc.poll() is None, f"daemon exited: {self.log_path.read_text()[-3000:]}"
            time.sleep(0.05)
        raise AssertionError(f"log line {text!r} not seen; log tail: {self.log_path.read_text()[-3000:]}")

    @property
    def metrics_port(self) -> int:
        return int(self.wait_log("metrics on http")["metrics_port"])

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM; return the seconds until the process exited."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return time.monotonic() - start

    def close(self) -> None:
        self.stop()
        self.notify.close()
        self._log.close()


def read_events(path: Path, count: int, timeout: float = 10.0) -> list[dict]:
    """Connect to the event socket and read ``count`` JSON lines."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(str(path))
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    sock.settimeout(timeout)
    buf = b""
    with sock:
        while buf.count(b"\n") < count:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    return [json.loads(line) for line in buf.splitlines()[:count]]
