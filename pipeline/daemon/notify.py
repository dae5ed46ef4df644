"""The systemd notification protocol over $NOTIFY_SOCKET, without any systemd library.

A datagram of ``KEY=VALUE`` lines sent to the Unix socket systemd names in the
environment (a leading ``@`` means the abstract namespace). Without
NOTIFY_SOCKET (run by hand, in tests without systemd) every call is a no-op.
"""
from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger("perceive.daemon.notify")

USEC_PER_S = 1_000_000


def _address(raw: str) -> str | bytes:
    return b"\0" + raw[1:].encode() if raw.startswith("@") else raw


def watchdog_interval_s() -> float | None:
    """Seconds between keep-alive pings: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / USEC_PER_S / 2


class Notifier:
    def __init__(self, address: str | None = None):
        raw = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self.address = _address(raw) if raw else None
        self.sent = 0
        self.failed = 0
        self._sock: socket.socket | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, **fields: str | int) -> bool:
        """Send one notification, e.g. ``send(READY=1, STATUS="3 pipelines")``."""
        if self._sock is None:
            return False
        text = "\n".join(f"{k}={_one_line(v)}" for k, v in fields.items())
        try:
            self._sock.sendto(text.encode(), self.address)
            self.sent += 1
            return True
        except OSError as exc:  # systemd gone or socket full: the daemon keeps working
            self.failed += 1
            log.warning("sd_notify %s failed: %s", list(fields), exc)
            return False

    def ready(self, status: str) -> bool:
        return self.send(READY=1, STATUS=status)

    def reloading(self) -> bool:
        return self.send(RELOADING=1, MONOTONIC_USEC=int(time.monotonic() * USEC_PER_S))

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def stopping(self) -> bool:
        return self.send(STOPPING=1, STATUS="stopping")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _one_line(value: str | int) -> str:
    return str(value).replace("\n", " ")
