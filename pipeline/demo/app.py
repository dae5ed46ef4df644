"""`perceive demo`: face unlock + OCR (+ voice commands) on a camera, a video or the sample media.

The video pipeline runs in the main thread (the window must be driven from it),
one item at a time through ``PipelineRunner.step``; the audio pipeline runs in its
own thread, or, headless on files, to the end before the video so that commands
land on the right frames of the output. What was decided is drawn by
``pipeline.demo.overlay`` and logged as JSON lines.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.demo.display import display_problem
from pipeline.demo.loop import STEP_TIMEOUT_S, run_demo_loop
from pipeline.demo.media import sample_media, working_copy
from pipeline.demo.overlay import LIVENESS_OFF_NOTE, FaceView, Hud, OverlayState, TextView, liveness_label, render
from pipeline.demo.pipelines import EventLog, build_stages, make_runner, stage_config, voice_config
from pipeline.engine import CpuOptions, EngineConfig
from pipeline.errors import InputError, SourceError
from pipeline.skills.face.store import default_store_path
from pipeline.runtime.stage import StageEnv
from pipeline.sources.video import VideoConfig

log = logging.getLogger("perceive.demo")

COMMAND_HOLD_S = 3.0          # how long the last voice command stays on screen
FPS_SMOOTHING = 0.1           # weight of the newest frame interval in the fps estimate
DEFAULT_CAMERA_FPS = 30.0
DEFAULT_OUT = "perceive-demo-out"
KEY_QUIT, KEY_ESC, KEY_PAUSE, KEY_OCR, KEY_ENROL = ord("q"), 27, ord(" "), ord("o"), ord("e")


@dataclass
class DemoOptions:
    camera: int | None = None
    video: str | None = None
    audio: str | None = None
    headless: bool = False
    out: str | None = None
    store: str | None = None
    name: str = "me"               # who `e` enrols
    ocr: bool = True
    frame_log: bool = False        # one JSON line per frame too (faces, texts, stage times)
    seconds: float = 0.0           # stop after this long (0: until the input ends or q)
    loop: bool = False
    pace: str | None = None        # realtime or asap; default: asap headless on files, else realtime
    min_face: int = 60
    threads: int = 0               # ONNX Runtime intra-op threads (0: all cores)
    voice_mode: str | None = None  # wake or commands; default: wake on the microphone, commands on a file


@dataclass
class Inputs:
    video_uri: str
    audio: str | None
    store: Path
    fps: float
    sample: bool
    temporary: Path | None = None  # a folder the demo made for a working copy of the sample enrolment


def make_out_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, a read-only or virtual file system
        raise InputError(f"--out {out}: cannot make the output folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"--out {out}: folder is not writable")


def check_file(path: str | None, what: str) -> None:
    if path is not None and not Path(path).is_file():
        raise SourceError(f"{what} file not found: {path}" if not Path(path).exists() else f"{what} {path}: not a file")


def resolve_inputs(opts: DemoOptions, out: Path | None) -> Inputs:
    check_file(opts.audio, "audio")
    if opts.camera is not None:
        check_camera(opts.camera)
        return Inputs(str(opts.camera), opts.audio, Path(opts.store or default_store_path()), DEFAULT_CAMERA_FPS, False)
    if opts.video is not None:
        check_file(opts.video, "video")
        return Inputs(opts.video, opts.audio, Path(opts.store or default_store_path()), file_fps(opts.video), False)
    media = sample_media()
    store = Path(opts.store) if opts.store else working_copy(media.faces, out)
    temporary = store.parent if not opts.store and out is None else None
    return Inputs(str(media.video), opts.audio or str(media.audio), store, file_fps(str(media.video)), True,
                  temporary)


def check_camera(index: int) -> None:
    cap = cv2.VideoCapture(index)
    try:
        if not cap.isOpened():
            raise SourceError(f"no camera at index {index} (cannot open it). Use `perceive demo --video FILE` "
                              "for a video file, or `perceive demo` alone for the bundled sample media")
    finally:
        cap.release()


def file_fps(path: str) -> float:
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return fps or DEFAULT_CAMERA_FPS


class Demo:
    def __init__(self, opts: DemoOptions):
        self.opts = opts
        self.headless = opts.headless
        problem = None if self.headless else display_problem()
        if problem:
            print(f"perceive demo: no window: {problem}; running headless")
            self.headless = True
        self.out = Path(opts.out or DEFAULT_OUT) if self.headless or opts.out else None
        if self.out:
            make_out_folder(self.out)
        self.inputs = resolve_inputs(opts, self.out)
        self.on_file = opts.camera is None
        self.pace = opts.pace or ("asap" if self.headless and self.on_file else "realtime")
        self.events = EventLog(self.out / "events.jsonl" if self.out else None)
        self.env_config = EngineConfig(cpu=CpuOptions(intra_op_threads=opts.threads))
        self.unavailable: dict[str, str] = {}
        self._envs: dict[str, StageEnv] = {}
        self.video, self.video_tap = self._video_pipeline()
        self.audio, self.audio_tap = self._audio_pipeline()
        notes = [f"{k}: unavailable" for k in self.unavailable]
        notes += [LIVENESS_OFF_NOTE] if self.inputs.sample else []
        self.state = OverlayState(ocr_enabled=opts.ocr, hud=Hud(notes=notes))
        self._set_ocr(opts.ocr)
        self.frames = 0
        self._last_frame_at: float | None = None
        self._unlocked: str | None = None
        self.quit = False
        self.paused = False

    # -- building --------------------------------------------------------
    def _env(self, name: str) -> StageEnv:
        """One environment per pipeline, shared by its stages and its runner (whose hooks see the events)."""
        if name not in self._envs:
            self._envs[name] = StageEnv(self.env_config, pipeline=name)
        return self._envs[name]

    def _video_pipeline(self):
        # The bundled sample media are photos: with liveness they would (rightly) never unlock, so the
        # demo turns it off for them only, and says so in the HUD. A camera or a video keeps it on.
        configs = [stage_config("face", store=str(self.inputs.store), min_face=self.opts.min_face,
                                liveness=not self.inputs.sample),
                   stage_config("ocr")]
        stages, unavailable = build_stages(configs, self._env("video"))
        self.unavailable.update(unavailable)
        source = VideoConfig(type="video", uri=self.inputs.video_uri, pace=self.pace, loop=self.opts.loop,
                             reconnect_initial_s=STEP_TIMEOUT_S, reconnect_max_s=1.0)
        runner, tap = make_runner("video", source, stages, self._env("video"))
        runner.on_event(self.events.emit)
        self.events.taps["video"] = tap
        return runner, tap

    def _audio_pipeline(self):
        if self.inputs.audio is None and self.opts.camera is None:
            return None, None
        # Live, the microphone listens as the daemon does (wake phrase first); a file (the sample track says
        # its commands without a wake phrase) defaults to commands.
        mode = self.opts.voice_mode or ("commands" if self.inputs.audio is not None else "wake")
        cfg = voice_config(mode=mode)
        if isinstance(cfg, str):
            self.unavailable["voice"] = cfg
            return None, None
        stages, unavailable = build_stages([cfg], self._env("audio"))
        self.unavailable.update(unavailable)
        if not stages:
            return None, None
        source = self._audio_source()
        if source is None:
            return None, None
        runner, tap = make_runner("audio", source, stages, self._env("audio"))
        runner.on_event(self.events.emit)
        self.events.taps["audio"] = tap
        return runner, tap

    def _audio_source(self):
        if self.inputs.audio is not None:
            from pipeline.sources.audio import WavConfig
            return WavConfig(type="wav", path=self.inputs.audio, pace=self.pace, loop=self.opts.loop)
        try:
            import sounddevice
            sounddevice.query_devices(kind="input")
        except Exception as exc:  # no PortAudio, no input device: the demo runs without voice
            self.unavailable["microphone"] = f"no microphone: {exc}"
            return None
        from pipeline.sources.audio import MicrophoneConfig
        return MicrophoneConfig(type="microphone")

    # -- keys --------------------------------------------------------------
    def _set_ocr(self, enabled: bool) -> None:
        self.state.ocr_enabled = enabled
        ocr = self.stage("ocr")
        if ocr is not None:  # switched off, the runner resets it: lines read before do not reappear
            self.video.set_stage_enabled(ocr.name, enabled)
        if not enabled:
            self.state.texts = []

    def handle_key(self, key: int) -> None:
        if key in (KEY_QUIT, KEY_ESC):
            self.quit = True
        elif key == KEY_PAUSE:
            self.paused = not self.paused
            self.state.paused = self.paused
        elif key == KEY_OCR:
            self._set_ocr(not self.state.ocr_enabled)
        elif key == KEY_ENROL:
            from pipeline.demo.enrol import enrol_current
            message = enrol_current(self, self.opts.name)
            print(f"perceive demo: {message}")
            self.state.hud.notes = [n for n in self.state.hud.notes if not n.startswith("enrol")] + [message[:40]]

    def stage(self, stage_type: str):
        return next((s for s in self.video.all_stages if s.config.type == stage_type), None)

    # -- per frame -----------------------------------------------------------
    def _update(self, report) -> None:
        face, ocr = report.results.get("face"), report.results.get("ocr")
        if face is not None:
            threshold = self.stage("face").verifier.threshold
            verdict = liveness_label(face)
            self.state.faces = [FaceView(f.box, f.landmarks, m.name, m.similarity, m.similarity >= threshold, verdict)
                                for f, m in zip(face.faces, face.matches)]
            self._lock_state(face.unlocked)
        if ocr is not None:
            self.state.texts = [TextView(np.asarray(l.box, np.float32), l.text, l.confidence) for l in ocr.lines]
        self.state.command = self._command(self.video_tap.media_time)
        media_time = self.video_tap.media_time
        self.state.listening_s = self.events.wake_window.remaining(
            media_time if self.on_file and media_time is not None else time.time())
        self._hud(report)

    def _lock_state(self, unlocked: str | None) -> None:
        if self._unlocked and not unlocked:
            self.events.write({"kind": "face_locked", "pipeline": "video", "media_time": self.video_tap.media_time,
                               "time": time.time(), "data": {"user": self._unlocked}})
        self._unlocked = self.state.unlocked = unlocked

    def _command(self, media_time: float | None) -> str | None:
        """The last voice command: by media time on files (so it lands on its frame), else by wall time."""
        heard = list(self.events.heard)
        if self.on_file and media_time is not None:
            heard = [e for e in heard if e["media_time"] is not None and
                     media_time - COMMAND_HOLD_S <= e["media_time"] <= media_time]
        else:
            heard = [e for e in heard if time.time() - e["time"] <= COMMAND_HOLD_S]
        if not heard:
            return None
        data = heard[-1]["data"]
        return str(data.get("keyword") or data.get("command") or data.get("label") or heard[-1]["kind"])

    def _hud(self, report) -> None:
        now = time.monotonic()
        if self._last_frame_at is not None:
            instant = 1.0 / max(now - self._last_frame_at, 1e-6)
            hud = self.state.hud
            hud.fps = instant if hud.fps == 0 else (1 - FPS_SMOOTHING) * hud.fps + FPS_SMOOTHING * instant
        self._last_frame_at = now
        stats = self.video.stage_stats
        self.state.hud.stage_ms = {n: (ms, stats[n].summary().p50_ms) for n, ms in report.stage_ms.items()}
        c = self.video.counters
        self.state.hud.drops = int(self.video_tap.stats().get("dropped", 0) + c["dropped_stale"] + c["skipped_policy"])
        runners = [r for r in (self.video, self.audio) if r is not None]
        self.state.hud.providers = {e.path.name: e.provider for r in runners for s in r.stages for e in s.engines()}

    def _frame_record(self, report) -> dict:
        return {"kind": "frame", "pipeline": "video", "frame": report.seq, "media_time": self.video_tap.media_time,
                "unlocked": self.state.unlocked, "stage_ms": {k: round(v, 2) for k, v in report.stage_ms.items()},
                "faces": [{"name": f.name, "similarity": round(f.similarity, 4), "matched": f.matched,
                           "box": [round(float(v), 1) for v in f.box]} for f in self.state.faces],
                "texts": [t.text for t in self.state.texts], "command": self.state.command,
                "listening_s": self.state.listening_s}

    # -- running -------------------------------------------------------------
    def run(self) -> dict:
        return run_demo_loop(self)

    def close(self) -> None:
        for runner in (self.video, self.audio):
            if runner is not None:
                runner.stop()
        self.events.close()
        if self.inputs.temporary is not None:
            shutil.rmtree(self.inputs.temporary, ignore_errors=True)
