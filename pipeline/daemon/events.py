"""Events as JSON lines on a Unix stream socket; a slow reader never slows a pipeline.

``publish`` only puts the event into a bounded queue (a full queue drops the
event and counts it). One sender thread accepts clients and writes to them
with non-blocking sends; a client whose unsent bytes exceed its buffer is
disconnected and counted as a dropped slow consumer.
"""
from __future__ import annotations

import grp
import json
import logging
import os
import queue
import selectors
import socket
import stat
import threading
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from pipeline.daemon.config import EventSocketConfig
from pipeline.errors import ConfigError
from pipeline.runtime.stage import Event

log = logging.getLogger("perceive.daemon.events")

SELECT_TIMEOUT_S = 0.2
BACKLOG = 16
KB = 1024
RECV_BYTES = 4096  # what clients send is discarded; this only drains it


def event_line(event: Event) -> bytes:
    return (json.dumps(asdict(event), default=str, separators=(",", ":")) + "\n").encode()


class _Client:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pending = bytearray()


class EventSocketServer:
    def __init__(self, config: EventSocketConfig):
        self.config = config
        self.path = Path(config.path)
        self.counters: Counter[str] = Counter()
        self._queue: queue.Queue[bytes] = queue.Queue(config.queue)
        self._count_lock = threading.Lock()  # publish runs on every pipeline thread
        self._clients: dict[int, _Client] = {}
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._listener = self._bind()
        self._thread = threading.Thread(target=self._serve, name="events-socket", daemon=True)

    def _bind(self) -> socket.socket:
        if self.path.exists() or self.path.is_symlink():
            if not stat.S_ISSOCK(self.path.lstat().st_mode):
                raise ConfigError(f"daemon.events.path: {self.path} exists and is not a socket; "
                                  "refusing to replace it")
            self.path.unlink()
        if not self.path.parent.is_dir():
            raise ConfigError(f"daemon.events.path: directory {self.path.parent} does not exist "
                              "(systemd creates /run/perceive through RuntimeDirectory=)")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.bind(str(self.path))
        os.chmod(self.path, int(self.config.mode, 8))
        if self.config.group:
            try:
                os.chown(self.path, -1, grp.getgrnam(self.config.group).gr_gid)
            except KeyError:
                sock.close()
                raise ConfigError(f"daemon.events.group: no group named {self.config.group!r}") from None
        sock.listen(BACKLOG)
        sock.setblocking(False)
        return sock

    def start(self) -> "EventSocketServer":
        self._thread.start()
        log.info("events on unix socket %s (mode %s)", self.path, self.config.mode)
        return self

    def publish(self, event: Event) -> None:
        """Never blocks: a full queue drops the event and counts it."""
        try:
            self._queue.put_nowait(event_line(event))
        except queue.Full:
            with self._count_lock:
                self.counters["events_dropped"] += 1
            return
        with self._count_lock:
            self.counters["queued"] += 1
        try:
            self._wake_w.send(b"x")
        except BlockingIOError:  # the wake-up pipe is already full: the thread is awake anyway
            pass

    @property
    def clients(self) -> int:
        return len(self._clients)

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, mask in sel.select(SELECT_TIMEOUT_S):
                    self._on_ready(sel, key, mask)
                self._fan_out(sel)
        finally:
            for client in list(self._clients.values()):
                self._drop(sel, client, "server stopping", count=False)
            sel.close()

    def _on_ready(self, sel, key, mask) -> None:
        if key.data == "accept":
            try:
                conn, _ = self._listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self._clients[conn.fileno()] = _Client(conn)
            sel.register(conn, selectors.EVENT_READ, "client")
            self.counters["clients_connected"] += 1
        elif key.data == "wake":
            try:
                self._wake_r.recv(RECV_BYTES)
            except BlockingIOError:
                pass
        else:
            client = self._clients.get(key.fd)
            if client is None:
                return
            if mask & selectors.EVENT_READ and not self._read_ok(client):
                self._drop(sel, client, "closed by client", count=False)
            elif mask & selectors.EVENT_WRITE:
                self._flush(sel, client)

    def _read_ok(self, client: _Client) -> bool:
        """Clients only listen; what they send is discarded. Empty read: they hung up."""
        try:
            return bool(client.sock.recv(RECV_BYTES))
        except BlockingIOError:
            return True
        except OSError:
            return False

    def _fan_out(self, sel) -> None:
        limit = self.config.client_buffer_kb * KB
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return
            self.counters["sent"] += 1
            for client in list(self._clients.values()):
                if len(client.pending) + len(line) > limit:
                    self._drop(sel, client, f"slow consumer: {len(client.pending)} bytes unsent", count=True)
                    continue
                client.pending += line
                self._flush(sel, client)

    def _flush(self, sel, client: _Client) -> None:
        try:
            sent = client.sock.send(client.pending)
            del client.pending[:sent]
        except BlockingIOError:
            pass
        except OSError as exc:
            self._drop(sel, client, f"send failed: {exc}", count=False)
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.pending else 0)
        sel.modify(client.sock, wanted, "client")

    def _drop(self, sel, client: _Client, why: str, count: bool) -> None:
        self._clients.pop(client.sock.fileno(), None)
        try:
            sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()
        if count:
            self.counters["slow_consumers_dropped"] += 1
            log.warning("event client dropped: %s", why)

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
