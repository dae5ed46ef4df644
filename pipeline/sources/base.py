"""One interface for every source, and the supervisor thread that keeps it alive.

A source thread opens its device or file, reads, and hands data to the
consumer through a buffer that never grows (newest-frame slot for video, ring
buffers for audio and sensors).

What a failure does depends on what the source is (``Source.should_retry``):

- a LIVE device (camera, microphone, serial port) that fails or ends after it
  opened is reopened with exponential back-off, and the reconnect counted: the
  process never goes down because a device was unplugged. One that cannot be
  opened at start is waited for unless ``wait_for_device`` is false (unset waits:
  a daemon may boot before its USB device appears); the CLIs set it false
  unless the config says true, so there it is an error;
- a FILE (or stdin) that cannot be opened or read is an error: there is
  nothing to wait for. The source finishes, keeps the error in ``error``, and
  ``get()`` raises it once the consumer has taken what was read before, so a
  command exits with one line instead of retrying forever. Only a looping
  replay that has played before is reopened (in a daemon it stands in for a
  live feed, and its file may be replaced).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from pipeline.config.loader import Registry, Tagged, option
from pipeline.errors import PerceiveError, SourceError

log = logging.getLogger("perceive.source")

SOURCES = Registry("source")
MAX_BACKOFF_S = 3600.0   # a device retried less than hourly is as good as given up on; 0 would spin


class EndOfStream(Exception):
    """The file or stream has no more data."""


@dataclass(kw_only=True)
class SourceConfig(Tagged):
    registry = SOURCES
    type: str = option("", "Source type: video, microphone, wav, sensor_file, serial, stdin or synthetic_*.")
    reconnect_initial_s: float = option(0.5, "First back-off delay after a failure.", above=0,
                                        at_most=MAX_BACKOFF_S)
    reconnect_max_s: float = option(30.0, "Longest back-off delay between reopen attempts.", above=0,
                                    at_most=MAX_BACKOFF_S)
    wait_for_device: bool | None = option(
        None, "true: a live device (camera, microphone, serial port, stream URL) that cannot be opened at "
              "start is retried with back-off until it appears; false: that is an error. Unset: the daemon "
              "waits, `perceive run` stops with the error. Files are never waited for.")


@dataclass(kw_only=True)
class ReplayOptions:
    pace: Literal["realtime", "asap"] = option(
        "realtime", "realtime: deliver at the recorded rate (drops happen as live); "
                    "asap: as fast as the consumer takes it, losing nothing.")
    loop: bool = option(False, "Start again at the end of the file instead of finishing.")


StreamKind = Literal["video", "audio", "sensor"]


@dataclass(frozen=True)
class StreamInfo:
    """What a source delivers, declared from its config before it opens: stages check it against their
    model, and config validation refuses budget policies that make no sense for it.

    ``droppable``: an item may be skipped without harm (video: the next frame stands alone). Audio and
    sensor blocks are not: the stages keep state from block to block (streaming features, recurrent
    models, windows), so a skipped block corrupts what follows. ``resizable``: items are images that
    may be scaled down (the ``downscale`` policy).
    """

    kind: StreamKind
    rate_hz: float              # frames or samples per second; 0 when only the opened device/file knows
    channels: tuple[str, ...]   # what one sample holds, in order (video: OpenCV's b, g, r)
    block: int                  # samples per item (1 for a video frame)
    droppable: bool
    resizable: bool


VIDEO_CHANNELS = ("b", "g", "r")   # cv2 delivers BGR


def video_stream(fps: float) -> StreamInfo:
    return StreamInfo("video", fps, VIDEO_CHANNELS, 1, droppable=True, resizable=True)


@dataclass
class Item:
    """What a source delivers. ``data`` may be a reused buffer: copy it to keep it."""

    seq: int
    captured_at: float  # time.monotonic() when the data was captured (for a block: its last sample)
    data: np.ndarray
    timestamp: float = 0.0  # media time in seconds (file position, sensor clock)
    meta: dict[str, Any] = field(default_factory=dict)


class Backoff:
    def __init__(self, initial: float, maximum: float):
        self.initial, self.maximum = initial, maximum
        self.delay = initial

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.delay = self.initial


class Source:
    """Base for all sources. Subclasses implement ``_open``, ``_read_once``, ``_close``.

    ``_read_once`` reads one unit (frame, block, line) and delivers it; it raises
    ``EndOfStream`` at the end and ``SourceError``/``OSError`` on failure.
    """

    kind = "generic"
    live = False  # a live device reopens at end of stream; a file finishes (unless looping)

    @classmethod
    def describe(cls, config: SourceConfig) -> StreamInfo:
        """The stream this source delivers with ``config`` (known before it opens)."""
        raise NotImplementedError(f"{cls.__name__} does not describe its stream")

    @property
    def stream(self) -> StreamInfo:
        return self.describe(self.config)

    def __init__(self, config: SourceConfig, name: str = ""):
        self.config = config
        self.name = name or config.type
        self.counters: Counter[str] = Counter()
        self.last_error = ""
        self.error: Exception | None = None  # what ended the source, raised by get() after the data
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        self._seq = 0

    # -- to implement ----------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _read_once(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _get(self, timeout: float) -> Item | None:
        """The next item from the source's buffer, or None when nothing came within ``timeout``."""
        raise NotImplementedError

    def get(self, timeout: float = 0.5) -> Item | None:
        """The next item for the consumer, or None when nothing came within ``timeout``.

        Raises the error that ended the source (``error``) once everything read before it was taken.
        """
        item = self._get(timeout)
        if item is None and self.error is not None and self.finished.is_set():
            raise self.error
        return item

    def _end_delivery(self) -> None:
        """Wake the consumer when the source has finished."""

    # -- supervision -------------------------------------------------------
    @property
    def looping(self) -> bool:
        return bool(getattr(self.config, "loop", False))

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def start(self) -> "Source":
        self._stop.clear()
        self.finished.clear()
        self.error = None
        self._thread = threading.Thread(target=self._supervise, name=f"source-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._end_delivery()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            written = self._written_so_far()
            try:
                self._open()
                self.counters["opened"] += 1
                while not self._stop.is_set():
                    self._read_once()
                    self._backoff.reset()
            except EndOfStream:
                self._close()
                if self.looping and self.counters["opened"]:
                    if self._written_so_far() == written:   # an empty file would loop at full speed: back off
                        self._retry(SourceError(f"{self.name}: nothing to replay"))
                        continue
                    self.counters["loops"] += 1
                    continue
                if not self.live:
                    log.info("source %s: end of stream", self.name)
                    break
                if not self._retry(SourceError(f"source {self.name}: stream ended")):
                    break
            except (PerceiveError, OSError) as exc:
                self._close()
                if not self._retry(exc if isinstance(exc, PerceiveError) else SourceError(f"{self.name}: {exc}")):
                    break
            except Exception as exc:  # a bug in a reader must not kill the daemon; it is logged in full
                log.exception("source %s crashed", self.name)
                self._close()
                if not self._retry(exc):
                    break
        self._close()
        self.finished.set()
        self._end_delivery()

    def _written_so_far(self) -> int:
        """Samples or frames put in the buffer so far (sources count one or the other)."""
        return self.counters["samples"] + self.counters["read"]

    def should_retry(self) -> bool:
        """Reopen after a failure? A live device that had opened, or that we wait for; a looping
        replay that had played. A file that cannot be read, or a device that never opened, is an error."""
        opened = self.counters["opened"] > 0
        if self.live:
            return opened or self.config.wait_for_device is not False   # unset (None) waits
        return self.looping and opened

    def _retry(self, exc: Exception) -> bool:
        """Back off and return True to reopen, or record ``exc`` as the source's end and return False."""
        self.last_error = str(exc)
        if self.should_retry():
            self._fail(str(exc))
            return True
        self.error = exc
        log.debug("source %s failed for good: %s", self.name, exc)
        return False

    def _fail(self, reason: str) -> None:
        self.counters["reconnects"] += 1
        delay = self._backoff.next()
        log.warning("source %s failed (%s); reopening in %.1f s", self.name, reason, delay)
        self._stop.wait(delay)

    def stats(self) -> dict[str, Any]:
        return {"source": self.name, "kind": self.kind, **self.counters, "last_error": self.last_error}


def open_source(config: SourceConfig, name: str = "") -> Source:
    return SOURCES.build(config, name)


def stream_of(config: SourceConfig) -> StreamInfo:
    """The stream a source config describes (its type must be registered: ``pipeline.assembly``)."""
    return SOURCES.implementation(config.type).describe(config)
