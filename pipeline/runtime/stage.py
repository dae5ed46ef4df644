"""Stages: small objects around a pure core, registered by type name.

A stage gets the item and the results of the stages before it, and returns a
typed result (a ``StageResult`` subclass with ``elapsed_ms``). Stages that
emit events (keyword heard, face unlocked, ...) call ``env.emit``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pipeline.engine import Engine, EngineConfig
from pipeline.runtime.config import STAGES, StageConfig  # noqa: F401  (the registry and table, defined light)
from pipeline.errors import ModelError
from pipeline.sources.base import Item, SourceConfig, StreamInfo, stream_of

log = logging.getLogger("perceive.stage")

SHIPPED_MODELS = Path(__file__).resolve().parent.parent / "models"


def shipped_model(name: str, suffix: str = ".onnx") -> Path:
    """A shipped model file; ``suffix`` ".fp32.onnx" asks for the fp32 variant, which is the shipped file
    itself when the export found int8 not worth it (no twin then)."""
    path = SHIPPED_MODELS / f"{name}{suffix}"
    return SHIPPED_MODELS / f"{name}.onnx" if suffix == ".fp32.onnx" and not path.is_file() else path


@dataclass
class StageResult:
    elapsed_ms: float = 0.0


@dataclass
class Event:
    """Something a pipeline decided: sent to the log, the event socket, MQTT, the overlay."""

    kind: str  # e.g. keyword, face_unlocked, text, activity, anomaly
    pipeline: str
    data: dict[str, Any]
    time: float = field(default_factory=time.time)
    latency_ms: float | None = None


def resolve_model(name_or_path: str, dirs: list[str]) -> Path:
    """A path, or a name looked up as NAME.onnx in the configured dirs, then the shipped models."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".onnx" or path.parent != Path("."):
        if path.is_file():
            return path
        raise ModelError(f"model file not found: {path}")
    searched = [Path(d).expanduser() for d in dirs] + [SHIPPED_MODELS]
    for d in searched:
        candidate = d / f"{name_or_path}.onnx"
        if candidate.is_file():
            return candidate
    raise ModelError(f"model '{name_or_path}' not found as {name_or_path}.onnx in "
                     f"{', '.join(str(d) for d in searched)}")


@dataclass(frozen=True)
class StageContext:
    """What a stage may know of the pipeline it is built for. Frozen: no stage changes it for another."""

    pipeline: str = ""
    stream: StreamInfo | None = None   # None: built outside a pipeline (a tool, a test); nothing to check


@dataclass
class StageEnv:
    """What stages get from the runtime: engines, model lookup, event output, and (``context``) the
    description of the stream they will be fed."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    model_dirs: list[str] = field(default_factory=list)
    pipeline: str = ""
    emit_fn: Callable[[Event], None] | None = None
    engines: dict[str, Engine] = field(default_factory=dict)
    source: SourceConfig | None = None  # the pipeline's source; stages read its description from ``context``

    @property
    def context(self) -> StageContext:
        return StageContext(self.pipeline, None if self.source is None else stream_of(self.source))

    def load_model(self, name_or_path: str) -> Engine:
        path = resolve_model(name_or_path, self.model_dirs)
        key = str(path.resolve())
        if key not in self.engines:
            self.engines[key] = Engine(path, self.engine)
        return self.engines[key]

    def emit(self, kind: str, data: dict[str, Any], latency_ms: float | None = None) -> None:
        event = Event(kind, self.pipeline, data, latency_ms=latency_ms)
        log.info("event %s %s", kind, data)
        if self.emit_fn is not None:
            self.emit_fn(event)


class Stage:
    """Base stage. ``process`` wraps ``run`` with timing; subclasses implement ``run``."""

    def __init__(self, config: StageConfig, env: StageEnv):
        self.config = config
        self.env = env
        self.name = config.name or config.type

    def run(self, item: Item, results: dict[str, StageResult]) -> StageResult:
        raise NotImplementedError

    def check_stream(self, stream: StreamInfo) -> None:
        """Raise ContractError when this stage cannot use ``stream``. Stages call it when they are built
        with a known stream (``env.context``); whoever puts a stage built earlier into a pipeline calls
        it with that pipeline's stream. Default: any stream will do."""

    def process(self, item: Item, results: dict[str, StageResult]) -> StageResult:
        start = time.perf_counter()
        result = self.run(item, results)
        result.elapsed_ms = (time.perf_counter() - start) * 1000
        return result

    def engines(self) -> list[Engine]:
        """The models this stage runs (for metrics: provider per model)."""
        return []

    def reset(self) -> None:
        """Forget what was carried over from earlier items (a stabiliser's history, a k-of-n window).
        The runner calls it when the stage is switched off and before a restarted thread runs again."""

    def close(self) -> None:
        pass


def build_stage(config: StageConfig, env: StageEnv) -> Stage:
    return STAGES.build(config, env)
