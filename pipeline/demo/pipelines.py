"""The demo's pipelines: video (face, OCR) and audio (voice commands), built from the stage registry.

A skill whose stage type or model is not installed is left out with the reason
(shown in the HUD, the summary and the log), never replaced by something else.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter, deque
from dataclasses import asdict
from pathlib import Path

from pipeline.assembly import (STAGES, PipelineConfig, PipelineRunner, SourceConfig, StageConfig, StageEnv,
                               build_stage, open_source)
from pipeline.errors import ConfigError, ModelError
from pipeline.skills.kws.modes import DEFAULT_WINDOW_S
from pipeline.runtime.stage import Event
from pipeline.sources.base import Item, stream_of

log = logging.getLogger("perceive.demo")

VOICE_STAGE = "kws"
RECENT_EVENTS = 1000


class TappedSource:
    """A source wrapper that remembers the last item the runner took (the overlay draws on its frame)."""

    def __init__(self, source):
        self._source = source
        self.last: Item | None = None
        self.last_empty = False

    def get(self, timeout: float = 0.5) -> Item | None:
        item = self._source.get(timeout)
        self.last_empty = item is None
        if item is not None:
            self.last = item
        return item

    @property
    def media_time(self) -> float | None:
        return None if self.last is None else round(float(self.last.timestamp), 3)

    def __getattr__(self, name):
        return getattr(self._source, name)


def stage_config(stage_type: str, **values) -> StageConfig:
    """The registered config of a stage type, with defaults and ``values``."""
    cls = STAGES.config_class(stage_type, "demo")
    return cls(type=stage_type, **values)


def build_stages(configs: list[StageConfig], env: StageEnv) -> tuple[list, dict[str, str]]:
    """(stages built, {stage type: why it is unavailable})."""
    stages, unavailable = [], {}
    for cfg in configs:
        try:
            stages.append(build_stage(cfg, env))
        except ModelError as exc:
            unavailable[cfg.type] = str(exc)
            log.warning("demo: %s unavailable: %s", cfg.type, exc)
    return stages, unavailable


def voice_config(**values) -> StageConfig | str:
    """The voice-command stage config, or why there is none."""
    try:
        return stage_config(VOICE_STAGE, **values)
    except (ConfigError, TypeError) as exc:  # TypeError: the stage's config has a field without a default
        return f"voice commands unavailable: {exc}"


def make_runner(name: str, source_cfg: SourceConfig, stages: list, env: StageEnv) -> tuple[PipelineRunner, TappedSource]:
    """The runner of ``stages`` (built before the source was chosen) on ``source_cfg``. Each stage first
    checks the stream it will get (the voice stage: the model's sample rate), as it would have, had
    it been built with it."""
    stream = stream_of(source_cfg)
    for stage in stages:
        stage.check_stream(stream)
    tap = TappedSource(open_source(source_cfg, name))
    config = PipelineConfig(name=name, source=source_cfg, stages=[s.config for s in stages])
    return PipelineRunner(config, env, source=tap, stages=stages), tap


class WakeWindow:
    """The voice command window as the events show it: opened by a ``wake`` event, closed by the next
    ``keyword`` (one command per window) or when ``window_s`` has passed. Times are the events' media
    time on files (so it lands on its frame), else wall time. The recent events are kept, not only the
    last: on a file the audio may be heard to its end before the frames that show it are drawn."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S):
        self.window_s = window_s
        self.marks: deque[tuple[float, str]] = deque(maxlen=RECENT_EVENTS)   # (time, "wake" | "keyword")

    def feed(self, record: dict) -> None:
        at = record["media_time"] if record.get("media_time") is not None else record.get("time")
        if record["kind"] in ("wake", "keyword") and at is not None:
            self.marks.append((float(at), record["kind"]))

    def remaining(self, now: float) -> float | None:
        """Seconds the window stays open at ``now``; None when it is closed."""
        # marks arrive in stream order: the newest one at or before ``now`` decides
        last = next(((at, kind) for at, kind in reversed(self.marks) if at <= now), None)
        if last is None or last[1] != "wake" or now >= last[0] + self.window_s:
            return None
        return last[0] + self.window_s - now


class EventLog:
    """Events as JSON lines, each with the media time of the item that caused it. Thread-safe."""

    def __init__(self, path: Path | None):
        self._file = open(path, "w", encoding="utf-8") if path else None
        self._lock = threading.Lock()
        self.events: deque[dict] = deque(maxlen=RECENT_EVENTS)  # bounded: a camera demo may run for hours
        self.heard: deque[dict] = deque(maxlen=RECENT_EVENTS)   # events of the audio pipeline
        self.kinds: Counter[str] = Counter()
        self.taps: dict[str, TappedSource] = {}
        self.wake_window = WakeWindow()   # the overlay shows it (OverlayState.listening_s)

    def emit(self, event: Event) -> None:
        tap = self.taps.get(event.pipeline)
        self.write({**asdict(event), "media_time": tap.media_time if tap else None})

    def write(self, record: dict) -> None:
        with self._lock:
            if record["kind"] != "frame":
                self.events.append(record)
                self.kinds[record["kind"]] += 1
                if record.get("pipeline") == "audio":
                    self.heard.append(record)
                    self.wake_window.feed(record)
            if self._file:
                self._file.write(json.dumps(record, default=_jsonable) + "\n")
                self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
