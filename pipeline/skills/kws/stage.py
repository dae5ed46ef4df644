"""``kws`` stage: spoken commands from an audio source, as ``keyword`` events (and ``wake`` events in
wake mode: pipeline/skills/kws/modes.py)."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.config.loader import option
from pipeline.errors import InputError
from pipeline.skills.kws.detector import DetectorOptions, KeywordSpotter
from pipeline.skills.kws.modes import DEFAULT_MODE, DEFAULT_WINDOW_S, MODES, CommandGate, check_mode
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item, StreamInfo


@dataclass(kw_only=True)
class KwsConfig(StageConfig):
    model: str = option("kws", "Keyword model name or path.")
    threshold: float = option(0.0, "Smoothed posterior that fires a command; 0 uses the model contract's "
                                   "(threshold; window_threshold inside the wake window). Wake phrases keep theirs.")
    thresholds: dict[str, float] = option(factory=dict, doc="Per-keyword thresholds, e.g. {unlock = 0.9}.")
    smooth_frames: int = option(0, "Frames the posterior is averaged over; 0 uses the contract's.")
    hold_frames: int = option(0, "Frames in a row the average must stay above the threshold before a keyword "
                                 "fires (fewer false accepts, 10 ms more latency each); 0 uses the contract's.")
    refractory_s: float = option(1.0, "No further event for this long after one.")
    gate_db: float = option(-90.0, "Energy gate: no event unless the last second peaked above this (dB); "
                                   "-90 is off.")
    mode: str = option(DEFAULT_MODE, f"Listening mode, one of {list(MODES)}: 'wake' accepts one command in a "
                                     "window opened by the model's wake phrase; 'commands' always listens.")
    window_s: float = option(DEFAULT_WINDOW_S, "Wake mode: seconds a wake phrase keeps the command window open.")


@dataclass
class KwsStageResult(StageResult):
    keywords: list[str] | None = None
    frames: int = 0


@STAGES.register("kws", KwsConfig)
class KwsStage(Stage):
    def __init__(self, config: KwsConfig, env: StageEnv):
        super().__init__(config, env)
        self.engine = env.load_model(config.model)
        self.spotter = KeywordSpotter(self.engine, DetectorOptions(
            threshold=config.threshold, thresholds=dict(config.thresholds), smooth_frames=config.smooth_frames,
            hold_frames=config.hold_frames, refractory_s=config.refractory_s, gate_db=config.gate_db,
            wake=config.mode == "wake"))
        check_mode(config.mode, self.spotter.wake_phrases, config.model)
        self.gate = CommandGate(config.mode, self.spotter.wake_phrases, config.window_s)
        if env.context.stream is not None:
            self.check_stream(env.context.stream)

    def check_stream(self, stream: StreamInfo) -> None:
        if stream.kind == "audio":   # audio sample rates are whole numbers (AudioOptions.sample_rate: int)
            self.engine.contract.expect("audio.sample_rate", int(stream.rate_hz), "source.sample_rate")

    def run(self, item: Item, results: dict) -> KwsStageResult:
        data = item.data
        if data.ndim != 1:
            raise InputError(f"stage '{self.name}': expected mono samples (n,), got shape {data.shape}")
        heard = []
        for g in filter(None, map(self.gate.feed, self.spotter.push(data))):
            e = g.detection
            if g.kind == "wake":
                self.env.emit("wake", {"phrase": e.keyword, "confidence": e.confidence, "t": e.t})
                continue
            heard.append(e.keyword)
            self.env.emit("keyword", {"keyword": e.keyword, "confidence": e.confidence, "start": e.start,
                                      "end": e.end, "t": e.t, "latency_ms": e.latency_ms}, e.latency_ms)
        return KwsStageResult(keywords=heard, frames=self.spotter.frames)

    def engines(self):
        return [self.engine]
