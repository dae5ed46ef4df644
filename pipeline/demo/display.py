"""Where annotated frames go: an OpenCV window when there is a display, an MP4 file when headless.

``cv2.imshow`` with no display aborts the whole process (Qt/GTK cannot connect),
so the display is checked from the environment before any window call; and the
``opencv-python-headless`` build has no window support at all, which is checked too.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import InputError

WINDOW = "perceive demo"
KEY_POLL_MS = 1
MP4_CODEC = "mp4v"


def display_problem() -> str | None:
    """Why a window cannot be shown here, or None when it can."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    gui = [line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
           if line.strip().startswith("GUI:")]
    if gui and gui[0].upper() == "NONE":
        return ("this OpenCV build has no window support (opencv-python-headless); "
                "replace it with the GUI build of the same version: `pip uninstall -y "
                "opencv-python-headless && pip install opencv-python` (both provide cv2; keep only one)")
    return None


class Window:
    def __init__(self, name: str = WINDOW):
        self.name = name
        cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE)

    def show(self, image: np.ndarray, wait_ms: int = KEY_POLL_MS) -> int:
        """Shows the image and returns the key pressed (255 for none, -1 when not waiting)."""
        cv2.imshow(self.name, image)
        return cv2.waitKey(wait_ms) & 0xFF if wait_ms >= 0 else -1

    def closed(self) -> bool:
        return cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        cv2.destroyWindow(self.name)


class VideoOut:
    """The annotated MP4 (mp4v), opened at the first frame's size."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = path, fps
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*MP4_CODEC), self.fps, (w, h))
            if not self._writer.isOpened():
                raise InputError(f"cannot write {self.path} with the {MP4_CODEC} codec")
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
