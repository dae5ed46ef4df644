"""Small media files written on the fly for source and runner tests."""
from __future__ import annotations

import wave
from pathlib import Path

import cv2
import numpy as np


def write_video(path: Path, frames: int = 40, fps: float = 30.0, size=(160, 120)) -> Path:
    """Frame i is a flat grey of level 5*i (so order and loss can be read back), MJPG in .avi."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (5 * i) % 256, np.uint8))
    writer.release()
    return path


def frame_level(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / 5))


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path
