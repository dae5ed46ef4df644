"""Events as JSON lines on a Unix stream socket; a slow reader never slows a pipeline.

``publish`` only puts the event into a bounded queue (a full queue drops the
event and counts it). One sender thread accepts clients and writes to them
with non-blocking sends; a client whose unsent bytes exceed its buffer is
disconnected and counted as a dropped slow consumer. At most MAX_CLIENTS are
served: one more is accepted and closed at once (counted), so a flood of
connections cannot take the daemon's file descriptors. Whatever a client does
(never reads, sends garbage, resets) costs it its connection, never the thread.

The socket file is the daemon's own: before binding, a live daemon answering on
the path is a ConfigError (a second daemon would steal its socket); a stale file
is replaced; on stop the file is removed only if it is still the one bound here.
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
MAX_CLIENTS = 64   # event readers at once (Home Assistant, a logger, a few shells); more are refused
PROBE_TIMEOUT_S = 1.0  # a daemon that does not accept within this long is still a daemon there
ACCEPT_PAUSE_S = 0.05  # after accept() fails for lack of file descriptors, before trying again


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
            if socket_is_live(self.path):
                raise ConfigError(f"daemon.events.path: another process (a running perceive daemon?) "
                                  f"serves {self.path}; stop it or give this one another path")
            self.path.unlink()  # stale: left by a daemon that was killed
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
        self._bound_id = file_id(self.path)
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
                    try:
                        self._on_ready(sel, key, mask)
                    except OSError as exc:  # one client's socket failed: it goes, the thread stays
                        client = self._clients.get(key.fd)
                        if client is None:
                            raise
                        self._drop(sel, client, f"socket error: {exc}", count=False)
                self._fan_out(sel)
        finally:
            for client in list(self._clients.values()):
                self._drop(sel, client, "server stopping", count=False)
            sel.close()

    def _on_ready(self, sel, key, mask) -> None:
        if key.data == "accept":
            self._accept(sel)
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

    def _accept(self, sel) -> None:
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as exc:  # EMFILE/ENFILE: the process is out of file descriptors
            log.warning("event socket: accept failed: %s", exc)
            self._stop.wait(ACCEPT_PAUSE_S)
            return
        if len(self._clients) >= MAX_CLIENTS:
            conn.close()  # the client reads end-of-file at once: refused, politely
            self.counters["clients_refused"] += 1
            if self.counters["clients_refused"] == 1 or self.counters["clients_refused"] % 100 == 0:
                log.warning("event socket: %d clients already connected (MAX_CLIENTS); refused %d so far",
                            MAX_CLIENTS, self.counters["clients_refused"])
            return
        conn.setblocking(False)
        self._clients[conn.fileno()] = _Client(conn)
        sel.register(conn, selectors.EVENT_READ, "client")
        self.counters["clients_connected"] += 1

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
        if sel.get_key(client.sock).events != wanted:
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
        if file_id(self.path) == self._bound_id:  # still ours: another daemon may own the path now
            self.path.unlink(missing_ok=True)
        else:
            log.warning("event socket %s was replaced by someone else; leaving it", self.path)


def file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, None when there is none."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def socket_is_live(path: Path) -> bool:
    """Whether a process accepts connections on the Unix socket file ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    probe.settimeout(PROBE_TIMEOUT_S)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:  # a timeout (its backlog is full) or a permission error: someone is there
        return True
    finally:
        probe.close()
    return True
