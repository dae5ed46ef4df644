"""The demo shows the voice command window: opened by a wake event, closed by a command or after
window_s (pipeline/demo/pipelines.py WakeWindow), drawn as a bar under the banner (overlay.py)."""
import numpy as np

from pipeline.demo.overlay import BANNER_H, LISTENING_BGR, OverlayState, render
from pipeline.demo.pipelines import EventLog, WakeWindow


def _event(kind, t, **data):
    return {"kind": kind, "pipeline": "audio", "media_time": t, "time": 1e9 + t, "data": data}


def test_window_opens_on_wake_and_closes_after_a_command():
    w = WakeWindow(3.0)
    assert w.remaining(0.5) is None
    w.feed(_event("wake", 1.0, phrase="computer"))
    assert w.remaining(0.9) is None and w.remaining(1.0) == 3.0 and abs(w.remaining(2.5) - 1.5) < 1e-9
    w.feed(_event("keyword", 2.0, keyword="stop"))
    assert w.remaining(2.5) is None


def test_window_closes_on_timeout_and_reopens_on_the_next_wake():
    w = WakeWindow(3.0)
    w.feed(_event("wake", 1.0, phrase="computer"))
    assert w.remaining(3.99) is not None and w.remaining(4.0) is None
    w.feed(_event("wake", 6.0, phrase="computer"))
    assert w.remaining(8.0) is not None


def test_event_log_follows_the_audio_pipeline_only():
    log = EventLog(None)
    log.write({**_event("wake", 1.0), "pipeline": "video"})
    assert log.wake_window.remaining(1.5) is None
    log.write(_event("wake", 1.0, phrase="computer"))
    assert log.wake_window.remaining(1.5) is not None


def _bar_pixels(state):
    img = render(np.zeros((240, 320, 3), np.uint8), state)[:, :320]
    row = img[BANNER_H + 4]
    return int((row == LISTENING_BGR).all(axis=1).sum())


def test_overlay_draws_the_open_window_shrinking():
    assert _bar_pixels(OverlayState()) == 0
    full, half = _bar_pixels(OverlayState(listening_s=3.0)), _bar_pixels(OverlayState(listening_s=1.5))
    assert full == 320 and 150 <= half <= 170
