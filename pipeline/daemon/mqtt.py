"""Events to MQTT with Home Assistant conventions (paho-mqtt, imported only when enabled).

Topics:
- ``<base>/<node>/status``: ``online`` (retained), ``offline`` as the last will;
- ``<base>/<node>/<pipeline>/<kind>``: each event as JSON with ``event_type`` = kind;
- ``<discovery>/event/<node>_<pipeline>_<kind>/config`` (retained): an MQTT ``event`` entity,
  announced the first time a pipeline emits that kind, so Home Assistant shows it by itself.
paho's own network thread sends; ``publish`` only enqueues, bounded by ``max_queued``.
"""
from __future__ import annotations

import json
import logging
import re
import socket
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from pipeline.daemon.config import MqttConfig
from pipeline.errors import ConfigError
from pipeline.runtime.stage import Event

log = logging.getLogger("perceive.daemon.mqtt")

KEEPALIVE_S = 30
MAX_PASSWORD_BYTES = 4096  # a password file holds one line; a bigger file is the wrong file


def slug(text: str) -> str:
    """Topic- and entity-id-safe: letters, digits, underscores."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "x"


class MqttSink:
    def __init__(self, config: MqttConfig):
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise ConfigError(f"daemon.mqtt.enabled: paho-mqtt is not installed ({exc}); "
                              "pip install 'perceive[daemon]'") from None
        self.config = config
        self.node = slug(config.node_id or socket.gethostname())
        self.root = f"{config.base_topic}/{self.node}"
        self.counters: Counter[str] = Counter()
        self._announced: set[tuple[str, str]] = set()
        self._mqtt = mqtt
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=config.client_id or f"perceive-{self.node}")
        client.max_queued_messages_set(config.max_queued)
        if config.username:
            client.username_pw_set(config.username, self._password())
        client.will_set(f"{self.root}/status", "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client

    def _password(self) -> str | None:
        if not self.config.password_file:
            return None
        from pipeline.config.files import read_small_text
        text = read_small_text(self.config.password_file, MAX_PASSWORD_BYTES, ConfigError, "password file",
                               prefix="daemon.mqtt.password_file: ", size_hint="; it should hold the password alone")
        return text.strip()

    def start(self) -> "MqttSink":
        self.client.connect_async(self.config.host, self.config.port, KEEPALIVE_S)
        self.client.loop_start()
        log.info("mqtt publishing to %s:%d under %s/", self.config.host, self.config.port, self.root)
        return self

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connect to %s:%d refused: %s", self.config.host, self.config.port, reason_code)
            return
        self.counters["connects"] += 1
        client.publish(f"{self.root}/status", "online", qos=1, retain=True)
        for pipeline, kind in sorted(self._announced):  # the broker may have lost retained configs
            self._announce(pipeline, kind)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self.counters["disconnects"] += 1
        log.warning("mqtt disconnected (%s); paho reconnects by itself", reason_code)

    def _announce(self, pipeline: str, kind: str) -> None:
        if not self.config.discovery_prefix:
            return
        object_id = f"{self.node}_{slug(pipeline)}_{slug(kind)}"
        payload = {
            "name": f"{pipeline} {kind}",
            "unique_id": f"perceive_{object_id}",
            "state_topic": f"{self.root}/{slug(pipeline)}/{slug(kind)}",
            "event_types": [kind],
            "availability_topic": f"{self.root}/status",
            "device": {"identifiers": [f"perceive_{self.node}"], "name": f"perceive {self.node}",
                       "manufacturer": "perceive"},
        }
        self.client.publish(f"{self.config.discovery_prefix}/event/{object_id}/config",
                            json.dumps(payload), qos=1, retain=True)

    def publish(self, event: Event) -> None:
        """Never blocks; paho's queue is bounded and an overflow is counted."""
        key = (event.pipeline, event.kind)
        if key not in self._announced:
            self._announced.add(key)
            self._announce(*key)
        payload = {"event_type": event.kind, **asdict(event)}
        info = self.client.publish(f"{self.root}/{slug(event.pipeline)}/{slug(event.kind)}",
                                   json.dumps(payload, default=str), qos=self.config.qos)
        if info.rc == self._mqtt.MQTT_ERR_QUEUE_SIZE:
            self.counters["dropped"] += 1
        else:
            self.counters["published"] += 1

    def stop(self) -> None:
        info = self.client.publish(f"{self.root}/status", "offline", qos=1, retain=True)
        if self.client.is_connected():
            info.wait_for_publish(timeout=0.5)
        self.client.disconnect()
        self.client.loop_stop()
