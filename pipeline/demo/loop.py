"""The demo's main loop: take a frame, run the stages, draw, show or write, handle keys.

Every function takes the ``pipeline.demo.app.Demo`` being run as ``demo``; this module does not
import ``app`` (``app`` imports it), so the two do not import each other.
"""
from __future__ import annotations

import json
import time

from pipeline.demo.display import VideoOut, Window
from pipeline.demo.overlay import render
from pipeline.errors import SourceError

NO_KEY = 255
STEP_TIMEOUT_S = 0.2
PAUSED_POLL_MS = 50


def _start_audio(demo) -> None:
    if demo.audio is None:
        return
    if demo.headless and demo.on_file and demo.pace == "asap" and not demo.opts.loop:
        demo.audio.run()  # to the end first, so each command lands on its own frames of the output video
    else:
        demo.audio.start(caller_reraises=True)  # its error (an unreadable audio file) is raised by _frame


def _audio_failed(demo) -> None:
    if demo.audio is not None and demo.audio.error is not None:
        raise demo.audio.error


def _source_failed(demo) -> None:
    tap = demo.video_tap
    if tap.counters["reconnects"] and not tap.counters["opened"]:
        raise SourceError(f"{tap.last_error}; for a file use `perceive demo --video FILE`")


def _frame(demo, window: Window | None, video_out: VideoOut | None):
    """Processes one frame; returns the drawn image, or None when no frame came."""
    _audio_failed(demo)
    report = demo.video.step(STEP_TIMEOUT_S)
    if report is None:
        if demo.video_tap.last_empty and demo.video_tap.finished.is_set():
            demo.quit = True
        else:
            _source_failed(demo)
        return None
    demo._update(report)
    demo.frames += 1
    image = render(demo.video_tap.last.data, demo.state)
    if video_out is not None:
        video_out.write(image)
    if demo.opts.frame_log:
        demo.events.write(demo._frame_record(report))
    return image


def run_demo_loop(demo) -> dict:
    window = None if demo.headless else Window()
    video_out = VideoOut(demo.out / "demo.mp4", demo.inputs.fps) if demo.out else None
    start = time.monotonic()
    deadline = start + demo.opts.seconds if demo.opts.seconds else None
    image = None
    try:
        _start_audio(demo)
        demo.video_tap.start()
        while not demo.quit and (deadline is None or time.monotonic() < deadline):
            if demo.paused and window is not None and image is not None:
                demo.state.paused = True
                key = window.show(render(demo.video_tap.last.data, demo.state), PAUSED_POLL_MS)
            else:
                drawn = _frame(demo, window, video_out)
                image = drawn if drawn is not None else image
                key = window.show(image) if window is not None and image is not None else NO_KEY
            if key != NO_KEY:
                demo.handle_key(key)
            if window is not None and image is not None and window.closed():
                demo.quit = True
    except KeyboardInterrupt:
        pass
    except BaseException:
        # An error (an unreadable audio file ...) ends the demo: stop every pipeline thread before it
        # reaches the user, or the interpreter exits with a decoder thread still running (an abort).
        demo.close()
        raise
    finally:
        if window is not None:
            window.close()
        if video_out is not None:
            video_out.close()
    wall_s = time.monotonic() - start
    summary = summary_of(demo, wall_s)
    demo.close()
    write_summary(demo, summary)
    return summary


def summary_of(demo, wall_s: float) -> dict:
    kinds = demo.events.kinds
    runners = [r for r in (demo.video, demo.audio) if r is not None]
    return {
        "input": {"video": demo.inputs.video_uri, "audio": demo.inputs.audio, "sample_media": demo.inputs.sample,
                  "pace": demo.pace, "store": str(demo.inputs.store)},
        "frames": demo.frames, "wall_s": round(wall_s, 3),
        "fps": round(demo.frames / wall_s, 2) if wall_s > 0 else 0.0,
        "events": dict(kinds),
        "unavailable": demo.unavailable,
        "pipelines": {r.config.name: r.stats() for r in runners},
        "protocol": (f"one run over the input, pace {demo.pace}, ONNX Runtime intra-op threads "
                     f"{demo.opts.threads or 'default'}, every processed frame timed per stage; "
                     "percentiles over all processed frames"),
        "outputs": {k: str(demo.out / v) for k, v in (("video", "demo.mp4"), ("events", "events.jsonl"),
                                                       ("summary", "summary.json"))} if demo.out else {},
    }


def write_summary(demo, summary: dict) -> None:
    if demo.out:
        (demo.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
