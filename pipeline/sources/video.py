"""Video through cv2.VideoCapture: camera index or device path, file, RTSP, GStreamer string.

The newest frame wins: a frame the consumer has not taken when the next one
arrives is dropped and counted, so latency never builds up in a queue.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from pipeline.config.loader import option
from pipeline.errors import SourceError
from pipeline.ringbuffer import LatestSlot
from pipeline.sources.base import (SOURCES, EndOfStream, Item, ReplayOptions, Source, SourceConfig, StreamInfo,
                                   video_stream)

DEFAULT_FPS = 30.0  # a camera or file that reports no rate, with none configured

_BACKENDS = {"auto": cv2.CAP_ANY, "v4l2": cv2.CAP_V4L2, "ffmpeg": cv2.CAP_FFMPEG,
             "gstreamer": cv2.CAP_GSTREAMER}


@dataclass(kw_only=True)
class VideoConfig(SourceConfig, ReplayOptions):
    uri: str = option(doc="Camera index ('0'), device path (/dev/video0), video file, rtsp:// URL "
                          "or a GStreamer pipeline ending in appsink.")
    backend: Literal["auto", "v4l2", "ffmpeg", "gstreamer"] = option("auto", "OpenCV capture backend.")
    width: int = option(0, "Requested capture width; 0 keeps the device default.")
    height: int = option(0, "Requested capture height; 0 keeps the device default.")
    fps: float = option(0.0, "Requested camera rate (0: the camera's default). A file replays at its own "
                             "rate; this is used only for a file that reports none.")

    def check(self) -> str | None:
        return None if self.uri else "uri: required (camera index, device, file or URL)"


def is_device(uri: str) -> bool:
    return uri.isdigit() or uri.startswith("/dev/")


class FrameSource(Source):
    """Delivers frames through a newest-wins slot: an untaken frame is replaced and counted as dropped."""

    kind = "video"

    def __init__(self, config: SourceConfig, name: str = ""):
        super().__init__(config, name)
        self._slot = LatestSlot()

    def _end_delivery(self) -> None:
        if self.finished.is_set():
            self._slot.close()

    def _get(self, timeout: float) -> Item | None:
        return self._slot.get(timeout)

    def stats(self) -> dict:
        return {**super().stats(), "dropped": self._slot.dropped}


@SOURCES.register("video", VideoConfig)
class VideoSource(FrameSource):
    @classmethod
    def describe(cls, config: VideoConfig) -> StreamInfo:
        return video_stream(config.fps)   # 0: the camera's or file's own rate, known once opened

    def __init__(self, config: VideoConfig, name: str = ""):
        super().__init__(config, name)
        self.config: VideoConfig = config
        self.live = is_device(config.uri) or "://" in config.uri or "!" in config.uri
        self._cap: cv2.VideoCapture | None = None
        self._shape: tuple | None = None
        self._fps = 0.0
        self._t0 = 0.0
        self._frame_index = 0

    def _open(self) -> None:
        c = self.config
        target = int(c.uri) if c.uri.isdigit() else c.uri
        if not self.live and not os.path.exists(c.uri):
            raise SourceError(f"video file not found: {c.uri}")
        cap = cv2.VideoCapture(target, _BACKENDS[c.backend])
        if not cap.isOpened():
            cap.release()
            hint = " (no camera at this index? try --video FILE)" if is_device(c.uri) else ""
            raise SourceError(f"cannot open video '{c.uri}'{hint}")
        if c.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, c.width)
        if c.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, c.height)
        if c.fps and self.live:
            cap.set(cv2.CAP_PROP_FPS, c.fps)
        self._cap = cap
        # A file's timestamps and realtime pace follow its own rate: a config written for a camera
        # (fps = 15) must not replay a 30 fps clip at half speed.
        own = cap.get(cv2.CAP_PROP_FPS)
        self._fps = (c.fps or own if self.live else own or c.fps) or DEFAULT_FPS
        self._t0 = time.monotonic()
        self._frame_index = 0
        self._slot.reopen()

    def _read_once(self) -> None:
        ok, frame = self._cap.read()
        if not ok:
            if self.live:
                raise SourceError(f"read from '{self.config.uri}' failed (unplugged?)")
            raise EndOfStream
        self._frame_index += 1
        self.counters["read"] += 1
        if not self._valid(frame):
            self.counters["corrupt"] += 1
            return
        timestamp = self._frame_index / self._fps
        if not self.live and self.config.pace == "realtime":
            delay = self._t0 + timestamp - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        item = Item(self.next_seq(), time.monotonic(), frame, timestamp, {"source": self.name})
        self._slot.put(item, wait=not self.live and self.config.pace == "asap", stop=self._stop)

    def _valid(self, frame) -> bool:
        """A frame of another shape or type than the stream's first is corrupt."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim not in (2, 3) \
                or frame.size == 0:
            return False
        if self._shape is None:
            self._shape = frame.shape
        return frame.shape == self._shape

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
