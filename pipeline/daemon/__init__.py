"""The device daemon: sd_notify, signals, event socket, MQTT, Prometheus metrics."""
