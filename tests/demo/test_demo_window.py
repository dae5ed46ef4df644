"""The demo's window under Xvfb: screenshots of the real X screen show the overlay being drawn.

Xvfb keeps its screen in an XWD file (``-fbdir``), which this test reads while the
demo plays the sample media in a window. The opencv-python-headless build the
runtime depends on has no window support, so the demo runs with a GUI build of the
same OpenCV version put on PYTHONPATH (deploy/setup-dev.sh installs it in
.venv/opencv-gui). With PERCEIVE_UPDATE_SCREENSHOT=1 the screenshot is also saved as
pipeline/assets/screenshot.png for the README.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.demo.overlay import LOCKED_BGR, PANEL_BGR, PANEL_W, UNLOCKED_BGR

ROOT = Path(__file__).resolve().parents[2]
GUI_OPENCV = Path(os.environ.get("PERCEIVE_OPENCV_GUI", ROOT / ".venv" / "opencv-gui"))
SCREEN = (1024, 480)
DEMO_SECONDS = 7          # the sample clip is 8 s; the enrolled face unlocks after about 4 s
POLL_S = 0.25
BANNER_MIN_PIXELS = 5000  # the banner is 640 x 35 px, less its lettering
PANEL_MIN_PIXELS = PANEL_W * 200
XWD_HEADER_FIELDS = 25

pytestmark = [
    pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (Debian package xvfb)"),
    pytest.mark.skipif(not (GUI_OPENCV / "cv2").is_dir(),
                       reason=f"no GUI build of OpenCV at {GUI_OPENCV} (deploy/setup-dev.sh installs it)"),
]


def read_xwd(path: Path) -> np.ndarray | None:
    """The screen as a BGR image, from Xvfb's XWD frame buffer file (32 bits per pixel, TrueColor)."""
    data = path.read_bytes()
    if len(data) < 4 * XWD_HEADER_FIELDS:
        return None
    order = ">" if np.frombuffer(data[4:8], ">u4")[0] == 7 else "<"  # file_version is 7
    h = np.frombuffer(data[:4 * XWD_HEADER_FIELDS], f"{order}u4")
    header_size, width, height, bpp, bytes_per_line, ncolours = h[0], h[4], h[5], h[11], h[12], h[19]
    if bpp != 32:
        return None
    start = int(header_size + 12 * ncolours)
    pixels = np.frombuffer(data, np.uint8, count=int(bytes_per_line * height), offset=start)
    image = pixels.reshape(height, bytes_per_line)[:, :width * 4].reshape(height, width, 4)
    return np.ascontiguousarray(image[:, :, :3])  # BGRX in memory on a little-endian server


def count(image: np.ndarray, bgr) -> int:
    return int(np.all(image == np.array(bgr, np.uint8), axis=2).sum())


def crop_to_window(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(image.max(axis=2))
    return image[ys.min():ys.max() + 1, xs.min():xs.max() + 1] if len(ys) else image


def test_window_shows_the_overlay(tmp_path):
    fbdir = tmp_path / "fb"
    fbdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(GUI_OPENCV), str(ROOT), env.get("PYTHONPATH", "")])
    env["QT_QPA_PLATFORM"] = "xcb"
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24 -fbdir {fbdir} -br",
           sys.executable, "-m", "pipeline.cli.main", "-q", "demo", "--seconds", str(DEMO_SECONDS), "--threads", "1"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    best, seen_locked = None, False
    try:
        while proc.poll() is None:
            time.sleep(POLL_S)
            screen_file = fbdir / "Xvfb_screen0"
            shot = read_xwd(screen_file) if screen_file.exists() else None
            if shot is None:
                continue
            seen_locked |= count(shot, LOCKED_BGR) >= BANNER_MIN_PIXELS
            if best is None or count(shot, UNLOCKED_BGR) > count(best, UNLOCKED_BGR):
                best = shot
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "no window" not in out, out  # it really opened a window
    assert best is not None, "no screenshot could be read"
    window = crop_to_window(best)
    cv2.imwrite(str(tmp_path / "screenshot.png"), window)
    assert seen_locked, "the LOCKED banner was never on screen (the stranger comes first)"
    assert count(window, UNLOCKED_BGR) >= BANNER_MIN_PIXELS, "no UNLOCKED banner on screen"
    assert count(window, PANEL_BGR) >= PANEL_MIN_PIXELS, "no HUD panel on screen"
    if os.environ.get("PERCEIVE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(tmp_path / "screenshot.png", ROOT / "pipeline" / "assets" / "screenshot.png")
