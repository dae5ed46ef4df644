"""Sensor sources: CSV / NDJSON replay, and a line reader over a serial device or stdin.

Every line is parsed and validated; a bad one is rejected with a counted
reason (too_long, malformed, missing_channel, non_finite, out_of_order,
duplicate_timestamp, rate_mismatch) and the stream goes on. Good samples go
into a ring buffer of (timestamp, channels...) rows allocated once, each stamped with the time it
was read (its capture time as far as the host can tell), so latency includes the wait in the buffer.

A file that cannot be opened is an error (see ``pipeline.sources.base``); a
serial device that goes away after it opened is reopened; stdin that is closed
or ends is the end of the stream.
"""
from __future__ import annotations

import json
import logging
import math
import os
import stat
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import IO, Literal

import numpy as np

from pipeline.config.loader import option
from pipeline.errors import SourceError
from pipeline.ringbuffer import RingBuffer
from pipeline.sources.base import SOURCES, EndOfStream, Item, ReplayOptions, Source, SourceConfig, StreamInfo

log = logging.getLogger("perceive.source")

MAX_LINE_CHARS = 64 * 1024   # longer lines are counted as too_long and skipped: memory stays bounded
FLOAT32_MAX = float(np.finfo(np.float32).max)   # values are delivered as float32: larger ones overflow
MAX_SENSOR_RATE_HZ = 100_000.0   # beyond any IMU or serial sensor
MAX_RATE_TOLERANCE = 10.0        # a tolerance of 10x the expected rate already accepts anything
MAX_BUFFER_SAMPLES = 1 << 20     # 1 Mi samples: 8 MB per channel of float64


@dataclass(kw_only=True)
class SensorOptions:
    format: Literal["csv", "ndjson"] = option("csv", "Line format.")
    channels: list[str] = option(doc="Channel names to read, in the order the model wants them.")
    time_key: str = option("t", "Column / key holding the timestamp in seconds.")
    columns: list[str] = option(factory=list, doc="CSV column names when the stream has no header line.")
    sample_rate_hz: float = option(0.0, "Expected rate; samples are rejected while the measured rate "
                                        "differs by more than rate_tolerance. 0 disables the check.",
                                   at_least=0, at_most=MAX_SENSOR_RATE_HZ)
    rate_tolerance: float = option(0.2, "Allowed relative difference between measured and expected rate.",
                                   at_least=0, at_most=MAX_RATE_TOLERANCE)
    block: int = option(1, "Samples per delivered item (at most buffer).", at_least=1, at_most=MAX_BUFFER_SAMPLES)
    buffer: int = option(4096, "Ring buffer length in samples.", at_least=1, at_most=MAX_BUFFER_SAMPLES)

    def check(self) -> str | None:
        if not self.channels:
            return "channels: list at least one channel"
        if self.block > self.buffer:   # a block the ring cannot hold would never be delivered
            return f"block: {self.block} is larger than buffer = {self.buffer}"
        return None


def sensor_stream(config: SensorOptions, rate_hz: float) -> StreamInfo:
    """Blocks of (block, channels) samples; stateful (windows, recurrent models): never skipped or resized."""
    return StreamInfo("sensor", float(rate_hz), tuple(config.channels), config.block, droppable=False,
                      resizable=False)


class SampleValidator:
    """Checks one parsed sample at a time; returns a rejection reason or None."""

    RATE_WINDOW = 32

    def __init__(self, channels: list[str], time_key: str, rate_hz: float, tolerance: float):
        self.channels, self.time_key = channels, time_key
        self.rate_hz, self.tolerance = rate_hz, tolerance
        self._last_t: float | None = None
        self._intervals: deque[float] = deque(maxlen=self.RATE_WINDOW)

    def check(self, record: dict) -> tuple[str | None, float, list[float]]:
        if self.time_key not in record:
            return "missing_channel", 0.0, []
        missing = [c for c in self.channels if c not in record]
        if missing:
            return "missing_channel", 0.0, []
        try:
            t = float(record[self.time_key])
            values = [float(record[c]) for c in self.channels]
        except (TypeError, ValueError):
            return "malformed", 0.0, []
        except OverflowError:   # a JSON integer too large for a float
            return "non_finite", 0.0, []
        if not math.isfinite(t) or not all(math.isfinite(v) and abs(v) <= FLOAT32_MAX for v in values):
            return "non_finite", t, values   # including values that float32 cannot hold (1e39 -> inf)
        if self._last_t is not None:
            if t == self._last_t:
                return "duplicate_timestamp", t, values
            if t < self._last_t:
                return "out_of_order", t, values
            self._intervals.append(t - self._last_t)
        self._last_t = t
        if self.rate_hz and len(self._intervals) >= 4:
            measured = 1.0 / float(np.median(self._intervals))
            if abs(measured - self.rate_hz) > self.tolerance * self.rate_hz:
                return "rate_mismatch", t, values
        return None, t, values


def parse_line(line: str, fmt: str, columns: list[str]) -> dict | None:
    """One text line -> {key: value}, or None when it is malformed."""
    line = line.strip()
    if fmt == "ndjson":
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):   # bad JSON, an integer too long to convert, deep nesting
            return None
        return record if isinstance(record, dict) else None
    fields = line.split(",")
    if len(fields) != len(columns):
        return None
    return dict(zip(columns, (f.strip() for f in fields)))


class _LineSensorSource(Source):
    kind = "sensor"

    def __init__(self, config, name: str = ""):
        super().__init__(config, name)
        c = config
        self._ring = RingBuffer(c.buffer, 1 + len(c.channels), dtype=np.float64)
        self._out = np.zeros((c.block, 1 + len(c.channels)), dtype=np.float64)
        self._stream: IO[str] | None = None
        self._columns: list[str] = list(c.columns)
        self._validator = self._new_validator()
        self._line_no = 0

    def _new_validator(self) -> SampleValidator:
        c = self.config
        return SampleValidator(c.channels, c.time_key, c.sample_rate_hz, c.rate_tolerance)

    def _open_stream(self) -> IO[str]:
        raise NotImplementedError

    def _open(self) -> None:
        self._stream = self._open_stream()
        self._columns = list(self.config.columns)
        self._validator = self._new_validator()
        self._line_no = 0
        self._ring.reopen()

    def _read_line(self) -> str | None:
        """The next line, or None for one longer than MAX_LINE_CHARS (read to its end in bounded pieces
        and dropped); raises EndOfStream at the end."""
        line = self._stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise EndOfStream
        self._line_no += 1
        if len(line.rstrip("\r\n")) <= MAX_LINE_CHARS:
            return line
        while line and not line.endswith("\n"):
            line = self._stream.readline(MAX_LINE_CHARS)
        return None

    def _read_once(self) -> None:
        line = self._read_line()
        if line is None:
            self.counters["lines"] += 1
            self._reject("too_long", f"line {self._line_no} is longer than {MAX_LINE_CHARS} characters")
            return
        if not line.strip():
            return
        if self.config.format == "csv" and not self._columns:
            self._columns = [h.strip() for h in line.split(",")]
            return
        self.counters["lines"] += 1
        record = parse_line(line, self.config.format, self._columns)
        reason, t, values = ("malformed", 0.0, []) if record is None else self._validator.check(record)
        if reason:
            self._reject(reason, f"line {self._line_no}: {line.strip()[:120]!r}")
            return
        self._pace(t)
        self._ring.write(np.array([t, *values]), wait=self._lossless, stop=self._stop)
        self.counters["samples"] += 1

    _lossless = False

    def _reject(self, reason: str, what: str) -> None:
        self.counters[f"rejected_{reason}"] += 1
        if self.counters[f"rejected_{reason}"] == 1:   # the first of each kind is shown, the rest counted
            log.warning("source %s: rejected line (%s): %s", self.name, reason, what)

    def _pace(self, t: float) -> None:
        pass

    def _close(self) -> None:
        if self._stream is not None and self._stream is not sys.stdin:
            self._stream.close()
        self._stream = None

    def _end_delivery(self) -> None:
        if self.finished.is_set():
            self._ring.close()

    @classmethod
    def describe(cls, config: SensorOptions) -> StreamInfo:
        return sensor_stream(config, config.sample_rate_hz)

    def _get(self, timeout: float) -> Item | None:
        n, captured_at = self._ring.read_stamped(self._out, timeout, partial=self.finished.is_set())
        if n == 0:
            return None
        rows = self._out[:n]
        return Item(self.next_seq(), captured_at, rows[:, 1:].astype(np.float32),
                    float(rows[-1, 0]), {"source": self.name, "t": rows[:, 0].copy()})

    def stats(self) -> dict:
        return {**super().stats(), "overflowed_samples": self._ring.overflowed}


@dataclass(kw_only=True)
class SensorFileConfig(SourceConfig, SensorOptions, ReplayOptions):
    path: str = option(doc="CSV or NDJSON file to replay.")

    def check(self) -> str | None:
        return SensorOptions.check(self) or (None if self.path else "path: required")


@SOURCES.register("sensor_file", SensorFileConfig)
class SensorFileSource(_LineSensorSource):
    def _open_stream(self) -> IO[str]:
        path = self.config.path
        if not os.path.exists(path):
            raise SourceError(f"sensor file not found: {path}")
        if os.path.isdir(path):
            raise SourceError(f"{path}: is a directory, not a sensor file")
        self._t_first: float | None = None
        self._wall0 = time.monotonic()
        try:
            return open(path, encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SourceError(f"cannot open sensor file {path}: {exc.strerror or exc}") from None

    @property
    def _lossless(self) -> bool:
        return self.config.pace == "asap"

    def _pace(self, t: float) -> None:
        if self.config.pace != "realtime":
            return
        if self._t_first is None:
            self._t_first, self._wall0 = t, time.monotonic()
        delay = self._wall0 + (t - self._t_first) - time.monotonic()
        if delay > 0:
            self._stop.wait(delay)


@dataclass(kw_only=True)
class SerialConfig(SourceConfig, SensorOptions):
    path: str = option(doc="Serial device, e.g. /dev/ttyUSB0.")
    baud: int = option(115200, "Baud rate set on the tty.")


@SOURCES.register("serial", SerialConfig)
class SerialSensorSource(_LineSensorSource):
    live = True

    def _open_stream(self) -> IO[str]:
        path = self.config.path
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        except OSError as exc:
            raise SourceError(f"cannot open serial device {path}: {exc.strerror}") from None
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):   # a file would be re-read at every reopen
            os.close(fd)
            raise SourceError(f"{path} is not a serial device (for a file use csv:FILE or ndjson:FILE)")
        if os.isatty(fd):
            _set_baud(fd, self.config.baud)
        return os.fdopen(fd, "r", encoding="utf-8", errors="replace")


def _set_baud(fd: int, baud: int) -> None:
    import termios  # POSIX only; imported here so the module loads anywhere
    speed = getattr(termios, f"B{baud}", None)
    if speed is None:
        raise SourceError(f"unsupported baud rate {baud}")
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = speed
    attrs[3] |= termios.ICANON  # line mode: readline returns whole lines
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


@dataclass(kw_only=True)
class StdinConfig(SourceConfig, SensorOptions):
    pass


@SOURCES.register("stdin", StdinConfig)
class StdinSensorSource(_LineSensorSource):
    def _open_stream(self) -> IO[str]:
        if sys.stdin is None or sys.stdin.closed:   # started with stdin closed: an empty stream
            raise EndOfStream
        if hasattr(sys.stdin, "reconfigure"):       # bytes that are not UTF-8 make a malformed line
            sys.stdin.reconfigure(errors="replace")
        return sys.stdin
