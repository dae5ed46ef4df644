"""Fixed-memory buffers between a source thread and its consumer."""
from __future__ import annotations

import math
import threading
import time
from collections import deque

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


MAX_STAMPS = 1 << 16   # capture stamps kept for unread writes (a tuple each, only while the reader lags)


class RingBuffer(_Closable):
    """A (capacity, channels) float32 ring: one producer writes, one consumer reads in order.

    Memory is allocated once. When the consumer falls behind by more than the
    capacity, the oldest unread samples are overwritten and counted in
    ``overflowed`` (``block=False``), or the writer waits for room (``block=True``,
    used for as-fast-as-possible replay where nothing may be lost).

    Every write carries the time its last sample was captured; ``read_stamped`` returns, with the
    samples, the capture time of the write that held the last of them. Latency measured from it
    includes the time the samples waited here, not only the time after the consumer took them.
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
        # (total written after a write, its capture time), oldest first. One write holds at least one
        # sample, so ``capacity`` stamps cover every unread sample; MAX_STAMPS bounds a huge ring (a
        # reader further behind gets the oldest stamp kept: a later time, so its age is a lower bound).
        self._stamps: deque[tuple[int, float]] = deque(maxlen=min(capacity, MAX_STAMPS))

    @property
    def available(self) -> int:
        return self._write - self._read

    def write(self, block: np.ndarray, *, wait: bool = False, stop: threading.Event | None = None,
              captured_at: float | None = None) -> None:
        """Append ``block``. ``captured_at``: time.monotonic() when its last sample was captured (a
        device clock converted by the caller); None stamps it now, when the source hands it over."""
        at = time.monotonic() if captured_at is None else captured_at
        block = np.asarray(block, dtype=self._buf.dtype).reshape(-1, self.channels)
        for start in range(0, len(block), self.capacity):
            self._write_part(block[start:start + self.capacity], wait, stop, at)

    def _write_part(self, part: np.ndarray, wait: bool, stop: threading.Event | None, at: float) -> None:
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
            self._stamps.append((self._write, at))
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
        return self.read_stamped(out, timeout, partial=partial)[0]

    def read_stamped(self, out: np.ndarray, timeout: float | None = None, *,
                     partial: bool = False) -> tuple[int, float]:
        """As ``read``, and the capture time of the last sample copied (NaN when none was)."""
        n = len(out)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.available < n and not self.closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(n, self.available)
            if count == 0 or (count < n and not (partial or self.closed)):
                return 0, math.nan
            start = self._read % self.capacity
            first = min(count, self.capacity - start)
            out[:first] = self._buf[start:start + first]
            out[first:count] = self._buf[:count - first]
            self._read += count
            self._cond.notify_all()
            return count, self._captured_at(self._read)

    def _captured_at(self, end: int) -> float:
        """Capture time of sample ``end - 1``: the stamp of the first write ending at or after ``end``.
        Stamps of writes read completely are dropped (the newest always stays: it ends at ``_write``)."""
        stamps = self._stamps
        while len(stamps) > 1 and stamps[0][0] < end:
            stamps.popleft()
        return stamps[0][1]



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

