"""Fixed-memory buffers between a source thread and its consumer."""
from __future__ import annotations

import threading
import time

import numpy as np


class _Closable:
    """Closing wakes a waiting consumer so it sees the end of the stream."""

    _cond: threading.Condition
    closed: bool

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self.closed = False


class RingBuffer(_Closable):
    """A (capacity, channels) float32 ring: one producer writes, one consumer reads in order.

    Memory is allocated once. When the consumer falls behind by more than the
    capacity, the oldest unread samples are overwritten and counted in
    ``overflowed`` (``block=False``), or the writer waits for room (``block=True``,
    used for as-fast-as-possible replay where nothing may be lost).
    """

    def __init__(self, capacity: int, channels: int = 1, dtype=np.float32):
        self._buf = np.zeros((capacity, channels), dtype=dtype)
        self.capacity = capacity
        self.channels = channels
        self._write = 0  # total samples ever written
        self._read = 0   # total samples ever consumed
        self.overflowed = 0
        self.closed = False
        self._cond = threading.Condition()

    @property
    def available(self) -> int:
        return self._write - self._read

    def write(self, block: np.ndarray, *, wait: bool = False, stop: threading.Event | None = None) -> None:
        block = np.asarray(block, dtype=self._buf.dtype).reshape(-1, self.channels)
        for start in range(0, len(block), self.capacity):
            self._write_part(block[start:start + self.capacity], wait, stop)

    def _write_part(self, part: np.ndarray, wait: bool, stop: threading.Event | None) -> None:
        n = len(part)
        with self._cond:
            while wait and self.capacity - self.available < n:
                if stop is not None and stop.is_set():
                    return
                self._cond.wait(0.05)
            start = self._write % self.capacity
            first = min(n, self.capacity - start)
            self._buf[start:start + first] = part[:first]
            self._buf[:n - first] = part[first:]
            self._write += n
            if self.available > self.capacity:
                lost = self.available - self.capacity
                self.overflowed += lost
                self._read += lost
            self._cond.notify_all()

    def read(self, out: np.ndarray, timeout: float | None = None, *, partial: bool = False) -> int:
        """Fill ``out`` (n, channels) with the next n samples; return how many were copied.

        Waits up to ``timeout`` for n samples. With ``partial`` (end of stream),
        copies what there is.
        """
        n = len(out)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.available < n and not self.closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(n, self.available)
            if count < n and not (partial or self.closed):
                return 0
            start = self._read % self.capacity
            first = min(count, self.capacity - start)
            out[:first] = self._buf[start:start + first]
            out[first:count] = self._buf[:count - first]
            self._read += count
            self._cond.notify_all()
            return count



class LatestSlot(_Closable):
    """Holds only the newest item: a put over an unread item drops it and counts the drop.

    With ``wait=True`` the producer instead waits until the consumer took the
    previous item (lossless replay as fast as possible).
    """

    def __init__(self):
        self._item = None
        self.dropped = 0
        self.closed = False
        self._cond = threading.Condition()

    def put(self, item, *, wait: bool = False, stop: threading.Event | None = None) -> None:
        with self._cond:
            while wait and self._item is not None:
                if stop is not None and stop.is_set():
                    return
                self._cond.wait(0.05)
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def get(self, timeout: float | None = None):
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

