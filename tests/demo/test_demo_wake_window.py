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


def test_the_demo_opens_the_window_on_the_wake_phrase_and_closes_it_after_the_command(tmp_path):
    """The headless demo in wake mode on real clips (a held-out speaker's `left` after a real `computer`):
    frames between the wake phrase and the command carry the open window; frames after it do not."""
    import json

    from pipeline.demo.app import Demo, DemoOptions
    from tests.kws.make_fixtures import write_wav
    from pipeline.sources.audio_file import read_wav
    from tests.kws.paths import FIXTURES

    parts = [0.5, "wake_computer.wav", 0.2, "left_0d53e045.wav", 4.0]
    audio = [np.zeros(int(p * 16000), np.float32) if isinstance(p, float) else read_wav(FIXTURES / "real" / p)[0]
             for p in parts]
    write_wav(tmp_path / "wake.wav", np.concatenate(audio))
    out = tmp_path / "out"
    Demo(DemoOptions(headless=True, out=str(out), audio=str(tmp_path / "wake.wav"), voice_mode="wake",
                     frame_log=True, threads=1, seconds=8.0)).run()
    records = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    heard = [(r["kind"], r["media_time"]) for r in records if r["kind"] in ("wake", "keyword")]
    assert [k for k, _ in heard] == ["wake", "keyword"], heard
    (_, woke), (_, commanded) = heard
    frames = [r for r in records if r["kind"] == "frame"]
    inside = [f for f in frames if woke < f["media_time"] < commanded]
    after = [f for f in frames if f["media_time"] > commanded + 0.2]
    assert inside and all(f["listening_s"] is not None for f in inside)
    assert after and all(f["listening_s"] is None for f in after)
