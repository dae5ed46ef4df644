"""Frames for `perceive enroll` and `perceive unlock`: a camera, a video file or a folder of images."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from pipeline.errors import InputError, SourceError
from pipeline.face.verify import QualityGates

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def add_input_arguments(p) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--camera", type=int, help="camera index, e.g. 0")
    group.add_argument("--video", help="video file to read instead of a camera")
    p.add_argument("--store", help="template store (default: $STATE_DIRECTORY/faces.json or "
                                   "~/.local/share/perceive/faces.json)")
    p.add_argument("--min-face", type=int, default=QualityGates().min_face,
                   help="smallest face in pixels (default: %(default)s, the enrolment minimum; smaller values add "
                        "detector pyramid levels: close-range unlock stays cheap)")


def image_frames(folder: str) -> Iterator[tuple[str, np.ndarray | None]]:
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    for path in paths:
        yield path.name, cv2.imread(str(path))  # None for a corrupt file: the caller reports it


def video_frames(camera: int | None, video: str | None, timeout: float) -> Iterator[tuple[str, np.ndarray | None]]:
    """Frames until ``timeout`` seconds pass (or the file ends)."""
    from pipeline.sources.video import VideoConfig, VideoSource
    if video is not None and not Path(video).is_file():
        raise SourceError(f"video file not found: {video}")
    uri = video if video is not None else str(camera if camera is not None else 0)
    source = VideoSource(VideoConfig(uri=uri, pace="asap" if video else "realtime", reconnect_initial_s=0.2,
                                     reconnect_max_s=1.0)).start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            item = source.get(0.2)
            if item is None:
                if source.finished.is_set():
                    return
                if source.counters["reconnects"] and not source.counters["opened"] and video is None:
                    raise SourceError(f"{source.last_error}")
                continue
            yield f"frame {item.seq}", item.data
    finally:
        source.stop()
