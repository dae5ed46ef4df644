"""Sensor stages: ``activity`` (windowed classification, events on change) and ``anomaly``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.config.loader import option
from pipeline.errors import ContractError, InputError
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.skills.sensor.activity import ActivityRecognizer
from pipeline.skills.sensor.anomaly import AnomalyDetector
from pipeline.sources.base import Item


def check_source(stage: str, contract, env: StageEnv, channels: list[str]) -> None:
    """The source must deliver the model's channels, at its rate when the source states one."""
    stream = env.context.stream
    if stream is None or stream.kind != "sensor":
        return
    if list(stream.channels) != list(channels):
        raise ContractError(f"stage '{stage}': model '{contract.name}' reads channels {channels} but the "
                            f"source delivers {list(stream.channels)}")
    if stream.rate_hz:
        contract.expect("sensor.sample_rate_hz", stream.rate_hz, "source.sample_rate_hz")


@dataclass(kw_only=True)
class ActivityConfig(StageConfig):
    model: str = option("har", "Activity model name or path.")
    smoothing: float = option(0.5, "Weight of the newest window in the probability moving average.")
    min_confidence: float = option(0.6, "Smoothed probability needed before the activity may change.")
    hop: int = option(0, "Samples between classifications; 0 uses the model contract's hop.")


@dataclass
class ActivityStageResult(StageResult):
    label: str = "unknown"
    confidence: float = 0.0
    windows: int = 0
    changed: bool = False


@STAGES.register("activity", ActivityConfig)
class ActivityStage(Stage):
    def __init__(self, config: ActivityConfig, env: StageEnv):
        super().__init__(config, env)
        self.engine = env.load_model(config.model)
        self.recognizer = ActivityRecognizer(self.engine, config.smoothing, config.min_confidence, config.hop)
        check_source(self.name, self.engine.contract, env, self.recognizer.spec.channels)

    def run(self, item: Item, results: dict) -> ActivityStageResult:
        data = item.data
        if data.ndim != 2 or data.shape[1] != len(self.recognizer.spec.channels):
            raise InputError(f"stage '{self.name}': expected (n, {len(self.recognizer.spec.channels)}) "
                             f"samples, got {data.shape}")
        out = ActivityStageResult()
        for r in self.recognizer.push(data, item.meta.get("t")):
            out.label, out.confidence, out.windows = r.label, r.confidence, out.windows + 1
            if r.changed:
                out.changed = True
                self.env.emit("activity", {"activity": r.label, "confidence": round(r.confidence, 3),
                                           "t": r.t_end, "probabilities": r.probabilities})
        return out

    def engines(self):
        return [self.engine]


@dataclass(kw_only=True)
class AnomalyConfig(StageConfig):
    model: str = option("anomaly", "Anomaly model name or path.")
    channel: str = option("", "Source channel to watch; empty uses the model's channel name.")
    threshold_scale: float = option(1.0, "Multiplies the calibrated threshold (> 1: fewer alarms).")


@dataclass
class AnomalyStageResult(StageResult):
    max_score: float = 0.0
    flagged: int = 0
    onset: bool = False


@STAGES.register("anomaly", AnomalyConfig)
class AnomalyStage(Stage):
    def __init__(self, config: AnomalyConfig, env: StageEnv):
        super().__init__(config, env)
        self.engine = env.load_model(config.model)
        self.detector = AnomalyDetector(self.engine, config.threshold_scale)
        self.channel = config.channel or self.detector.spec.channels[0]
        stream = env.context.stream
        source_channels = list(stream.channels) if stream is not None and stream.kind == "sensor" else [self.channel]
        if self.channel not in source_channels:
            raise ContractError(f"stage '{self.name}': channel '{self.channel}' is not among the source's "
                                f"channels {source_channels}")
        self.index = source_channels.index(self.channel)

    def run(self, item: Item, results: dict) -> AnomalyStageResult:
        values = item.data[:, self.index] if item.data.ndim == 2 else item.data
        r = self.detector.push(values, item.timestamp)
        if r.onset:
            t = item.meta.get("t")
            first = int(np.argmax(r.flags))
            self.env.emit("anomaly", {"channel": self.channel, "score": round(float(r.scores.max()), 2),
                                      "threshold": round(self.detector.threshold, 2),
                                      "t": float(t[first]) if t is not None else item.timestamp})
        return AnomalyStageResult(max_score=float(r.scores.max()), flagged=int(r.flags.sum()), onset=r.onset)

    def engines(self):
        return [self.engine]
