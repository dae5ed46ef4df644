"""The `[daemon]` section of the config tree: event socket, MQTT, metrics, watchdog, logs.

Everything that opens a network port is off or bound to localhost by default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from pipeline.config.loader import option

DEFAULT_SOCKET = "/run/perceive/events.sock"
MAX_UNIX_PATH_BYTES = 107        # Linux sockaddr_un.sun_path holds 108 bytes including the final NUL
MAX_PORT = 65535
MAX_CLIENT_BUFFER_KB = 64 * 1024  # 64 MB per client: more only hides a reader that is not reading
MAX_EVENT_QUEUE = 1_000_000       # events are ~200 bytes: a bigger queue is memory, not reliability
MAX_SECONDS = 86400.0             # timeouts and intervals; beyond threading.TIMEOUT_MAX waits fail outright
MAX_BUCKETS = 64                  # latency histogram buckets: every one is a series per pipeline and stage


@dataclass(kw_only=True)
class EventSocketConfig:
    enabled: bool = option(True, "Serve events as JSON lines on a Unix stream socket.")
    path: str = option(DEFAULT_SOCKET, "Socket path; a stale socket file there is replaced.")
    mode: str = option("0660", "Octal permissions of the socket file (who may read events).")
    group: str = option("", "Group owning the socket file; empty keeps the daemon's group.")
    client_buffer_kb: int = option(256, "Bytes queued for one client before it counts as slow and is "
                                        "disconnected (the drop is counted; pipelines never wait).",
                                   at_least=1, at_most=MAX_CLIENT_BUFFER_KB)
    queue: int = option(1024, "Events waiting for the sender thread; more are dropped and counted.",
                        at_least=1, at_most=MAX_EVENT_QUEUE)

    def check(self) -> str | None:
        try:
            mode = int(self.mode, 8)
        except ValueError:
            return f"mode: {self.mode!r} is not an octal permission such as '0660'"
        if not 0 <= mode <= 0o777:
            return f"mode: {self.mode!r} is outside 0000..0777"
        if self.enabled and not self.path:
            return "path: empty; give the socket file's path or set enabled = false"
        size = len(os.fsencode(self.path))
        if size > MAX_UNIX_PATH_BYTES:
            return (f"path: {size} bytes long, over the {MAX_UNIX_PATH_BYTES}-byte limit of a Unix socket "
                    f"path (AF_UNIX sun_path is {MAX_UNIX_PATH_BYTES + 1} bytes with its final NUL); "
                    "choose a shorter path")
        return None


@dataclass(kw_only=True)
class MqttConfig:
    enabled: bool = option(False, "Publish events to an MQTT broker (needs paho-mqtt: perceive[daemon]).")
    host: str = option("localhost", "Broker host.")
    port: int = option(1883, "Broker port.", at_least=1, at_most=MAX_PORT)
    username: str = option("", "User name; empty for an anonymous connection.")
    password_file: str = option("", "File holding the password (kept out of the config file).")
    client_id: str = option("", "MQTT client id; empty uses 'perceive-<node_id>'.")
    node_id: str = option("", "Device id used in topics and Home Assistant unique ids; empty uses "
                               "the host name.")
    base_topic: str = option("perceive", "Events go to <base_topic>/<node_id>/<pipeline>/<kind>.")
    discovery_prefix: str = option("homeassistant", "Home Assistant discovery prefix; empty disables "
                                                    "discovery messages.")
    qos: int = option(0, "QoS of event messages (0, 1 or 2).")
    max_queued: int = option(1000, "Messages paho may queue while the broker is away; more are dropped.",
                             at_least=1, at_most=MAX_EVENT_QUEUE)

    def check(self) -> str | None:
        if self.qos not in (0, 1, 2):
            return f"qos: expected 0, 1 or 2, got {self.qos}"
        return None


@dataclass(kw_only=True)
class MetricsConfig:
    enabled: bool = option(True, "Serve Prometheus metrics over HTTP.")
    host: str = option("127.0.0.1", "Listen address; 0.0.0.0 exposes metrics to the network.")
    port: int = option(9177, "Listen port; 0 picks a free one (logged at start).", at_least=0, at_most=MAX_PORT)
    latency_buckets_ms: list[float] = option(
        factory=lambda: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        doc="Upper bounds of the latency histogram buckets in milliseconds, increasing.", above=0)

    def check(self) -> str | None:
        if not self.host:
            return "host: empty; use 127.0.0.1 (this machine only) or 0.0.0.0 (the network)"
        buckets = self.latency_buckets_ms
        if len(buckets) > MAX_BUCKETS:
            return f"latency_buckets_ms: {len(buckets)} buckets, more than MAX_BUCKETS = {MAX_BUCKETS}"
        if not buckets or any(a >= b for a, b in zip(buckets, buckets[1:])):
            return f"latency_buckets_ms: expected increasing numbers, got {buckets}"
        return None


@dataclass(kw_only=True)
class WatchdogConfig:
    stall_s: float = option(10.0, "A pipeline whose stage has run this long, or whose loop has not "
                                  "turned for this long, counts as stuck: the systemd watchdog ping stops.",
                            above=0, at_most=MAX_SECONDS)
    status_interval_s: float = option(5.0, "How often STATUS= and the health log line are refreshed.",
                                      above=0, at_most=MAX_SECONDS)


@dataclass(kw_only=True)
class DaemonConfig:
    events: EventSocketConfig = option(factory=EventSocketConfig, doc="JSON-lines event socket.")
    mqtt: MqttConfig = option(factory=MqttConfig, doc="Optional MQTT publishing (Home Assistant topics).")
    metrics: MetricsConfig = option(factory=MetricsConfig, doc="Prometheus metrics endpoint.")
    watchdog: WatchdogConfig = option(factory=WatchdogConfig, doc="Progress supervision for sd_notify.")
    log_format: Literal["json", "text"] = option("json", "json: one JSON object per log line on stdout "
                                                         "(journald keeps them); text: human readable.")
    stop_timeout_s: float = option(1.0, "How long stopping waits for pipelines before exiting anyway.",
                                   at_least=0, at_most=MAX_SECONDS)
