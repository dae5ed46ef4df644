"""Frames for `perceive enroll` and `perceive unlock`: a camera, a video file or a folder of images."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from pipeline.errors import InputError, SourceError
from pipeline.skills.face.verify import QualityGates
from pipeline.preprocess.image import MAX_IMAGE_PIXELS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
RECONNECT_INITIAL_S, RECONNECT_MAX_S = 0.2, 1.0  # a camera that went away is retried soon: unlock is short
POLL_S = 0.2


def add_input_arguments(p) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--camera", type=int, help="camera index, e.g. 0")
    group.add_argument("--video", help="video file to read instead of a camera")
    p.add_argument("--store", help="template store (default: $STATE_DIRECTORY/faces.json or "
                                   "~/.local/share/perceive/faces.json)")
    p.add_argument("--min-face", type=int, default=QualityGates().min_face,
                   help="smallest face in pixels (default: %(default)s, the enrolment minimum; smaller values add "
                        "detector pyramid levels: close-range unlock stays cheap)")


def image_paths(folder: str) -> list[Path]:
    """The images of a folder, by name; InputError for a missing folder, a file, or a folder without images."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"--images {folder}: " + ("not a folder (give the folder that holds the photos)"
                                                    if root.exists() else "no such folder"))
    try:
        paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    except OSError as exc:
        raise InputError(f"--images {folder}: cannot list: {exc.strerror or exc}") from None
    if not paths:
        raise InputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return paths


def check_video_file(video: str, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """SourceError now for a file that is missing, cannot be opened, declares frames over ``max_pixels``
    or has no decodable first frame.

    Probing before the source starts keeps the source from logging a retry it will never make.
    """
    if not Path(video).is_file():
        raise SourceError(f"video file not found: {video}")
    capture = cv2.VideoCapture(video)
    try:
        if not capture.isOpened():
            raise SourceError(f"cannot read video {video}: not a video file OpenCV can open")
        width, height = (int(capture.get(p)) for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > max_pixels:  # checked before the first frame is decoded
            raise SourceError(f"cannot read video {video}: frames of {width}x{height} pixels, over the limit of "
                              f"{max_pixels:,} pixels")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise SourceError(f"cannot read video {video}: no frame could be decoded")
    finally:
        capture.release()


def video_frames(camera: int | None, video: str | None, timeout: float) -> Iterator[tuple[str, np.ndarray]]:
    """Frames until ``timeout`` seconds pass (or the file ends).

    A video file that cannot be opened or yields no frame is a SourceError at once; only a
    camera that opened and then went away is reopened (until the timeout).
    """
    from pipeline.sources.video import VideoConfig, VideoSource
    if video is not None:
        check_video_file(video)
    uri = video if video is not None else str(camera if camera is not None else 0)
    source = VideoSource(VideoConfig(uri=uri, pace="asap" if video else "realtime",
                                     reconnect_initial_s=RECONNECT_INITIAL_S, reconnect_max_s=RECONNECT_MAX_S)).start()
    deadline = time.monotonic() + timeout
    delivered = 0
    try:
        while time.monotonic() < deadline:
            item = source.get(POLL_S)
            if item is not None:
                delivered += 1
                yield f"frame {item.seq}", item.data
                continue
            if video is not None and (source.counters["reconnects"] or (source.finished.is_set() and not delivered)):
                raise SourceError(f"cannot read video {video}: {source.last_error or 'no frame could be decoded'}")
            if source.finished.is_set():
                return
            if source.counters["reconnects"] and not source.counters["opened"]:
                raise SourceError(f"{source.last_error}")
    finally:
        source.stop()
