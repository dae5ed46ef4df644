"""Synthetic sources behind the same interfaces as the devices, for tests and benchmarks."""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.config.loader import option
from pipeline.sources.audio import AudioOptions, _AudioSource
from pipeline.sources.base import SOURCES, EndOfStream, Item, SourceConfig, StreamInfo, video_stream
from pipeline.sources.sensor import MAX_SENSOR_RATE_HZ, SensorOptions, _LineSensorSource, sensor_stream
from pipeline.sources.video import FrameSource

# Bounds of the generated streams: beyond them a setting is a typo, not a test signal.
MAX_SIDE = 7680            # 8K UHD width; a 100000-pixel side was a 27.9 GiB frame
MIN_RATE_HZ = 0.01         # one frame or sample per 100 s; 1e-300 overflowed the pacing clock
MAX_FPS = 1000.0
MAX_TONE_HZ = 100_000.0    # above any delivered sample rate's Nyquist frequency
MAX_NOISE = 1.0            # audio is delivered in [-1, 1]
MAX_SECONDS = 10 * 365 * 86400  # ten years, as `perceive run --seconds`


@dataclass(kw_only=True)
class SyntheticVideoConfig(SourceConfig):
    width: int = option(640, "Frame width.", at_least=1, at_most=MAX_SIDE)
    height: int = option(480, "Frame height.", at_least=1, at_most=MAX_SIDE)
    fps: float = option(30.0, "Frames per second (paced in real time).", at_least=MIN_RATE_HZ, at_most=MAX_FPS)
    frames: int = option(0, "Frames before end of stream; 0 runs forever.", at_least=0)


@SOURCES.register("synthetic_video", SyntheticVideoConfig)
class SyntheticVideoSource(FrameSource):
    """A moving white square with the frame number, at a real-time pace."""

    @classmethod
    def describe(cls, config: SyntheticVideoConfig) -> StreamInfo:
        return video_stream(config.fps)

    def __init__(self, config: SyntheticVideoConfig, name: str = ""):
        super().__init__(config, name)
        self._frame = np.zeros((config.height, config.width, 3), dtype=np.uint8)
        self._n = 0
        self._t0 = 0.0

    def _open(self) -> None:
        self._n, self._t0 = 0, time.monotonic()

    def _read_once(self) -> None:
        c = self.config
        if c.frames and self._n >= c.frames:
            raise EndOfStream
        self._n += 1
        self._stop.wait(max(0.0, self._t0 + self._n / c.fps - time.monotonic()))
        frame = np.zeros_like(self._frame)  # a new array per frame: the consumer may still hold the last
        x = int((self._n * 8) % max(1, c.width - 40))
        cv2.rectangle(frame, (x, c.height // 3), (x + 40, c.height // 3 + 40), (255, 255, 255), -1)
        cv2.putText(frame, str(self._n), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 255, 0), 2)
        self.counters["read"] += 1
        self._slot.put(Item(self.next_seq(), time.monotonic(), frame, self._n / c.fps, {"source": self.name}))


@dataclass(kw_only=True)
class SyntheticAudioConfig(SourceConfig, AudioOptions):
    tone_hz: float = option(440.0, "Sine frequency.", at_least=0, at_most=MAX_TONE_HZ)
    noise: float = option(0.01, "White noise amplitude.", at_least=0, at_most=MAX_NOISE)
    seconds: float = option(0.0, "Length before end of stream; 0 runs forever.", at_least=0, at_most=MAX_SECONDS)


@SOURCES.register("synthetic_audio", SyntheticAudioConfig)
class SyntheticAudioSource(_AudioSource):
    def _open(self) -> None:
        self._n, self._t0 = 0, time.monotonic()
        self._rng = np.random.default_rng(0)
        self._ring.reopen()

    def _read_once(self) -> None:
        c = self.config
        if c.seconds and self._n >= c.seconds * self.sample_rate:
            raise EndOfStream
        t = (self._n + np.arange(self.block)) / self.sample_rate
        block = 0.3 * np.sin(2 * np.pi * c.tone_hz * t) + c.noise * self._rng.standard_normal(self.block)
        self._n += self.block
        self._stop.wait(max(0.0, self._t0 + self._n / self.sample_rate - time.monotonic()))
        self._ring.write(block.astype(np.float32))


@dataclass(kw_only=True)
class SyntheticSensorConfig(SourceConfig, SensorOptions):
    samples: int = option(0, "Samples before end of stream; 0 runs forever.", at_least=0)
    rate_hz: float = option(50.0, "Generated sample rate (paced in real time).", at_least=MIN_RATE_HZ,
                            at_most=MAX_SENSOR_RATE_HZ)


@SOURCES.register("synthetic_sensor", SyntheticSensorConfig)
class SyntheticSensorSource(_LineSensorSource):
    """Sines of different frequencies per channel, as text lines through the same validator."""

    @classmethod
    def describe(cls, config: SyntheticSensorConfig) -> StreamInfo:
        return sensor_stream(config, config.rate_hz)   # the rate it generates

    def _open_stream(self):
        self._n, self._t0 = 0, time.monotonic()
        self._columns = [self.config.time_key, *self.config.channels]
        return None

    def _open(self) -> None:
        super()._open()
        self._columns = [self.config.time_key, *self.config.channels]

    def _read_once(self) -> None:
        c = self.config
        if c.samples and self._n >= c.samples:
            raise EndOfStream
        t = self._n / c.rate_hz
        self._n += 1
        self._stop.wait(max(0.0, self._t0 + t - time.monotonic()))
        values = [np.sin(2 * np.pi * (i + 1) * t) for i in range(len(c.channels))]
        self._stream = _OneLine(",".join(f"{v:.6f}" for v in [t, *values]) + "\n")
        super()._read_once()


class _OneLine:
    def __init__(self, line: str):
        self.line = line

    def readline(self, limit: int = -1) -> str:
        return self.line

    def close(self) -> None:
        pass
