"""The ``ocr`` stage: read the text in each frame; a ``text`` event when what is read changes."""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config.loader import option
from pipeline.errors import ConfigError
from pipeline.skills.ocr.reader import MIN_LINE_CONFIDENCE, OcrReader, TextLine
from pipeline.skills.ocr.stability import NEEDED_FRAMES, WINDOW_FRAMES, LineStabiliser
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item


@dataclass(kw_only=True)
class OcrConfig(StageConfig):
    detector: str = option("ocr_det", "Text detector model name or path.")
    recogniser: str = option("ocr_rec", "Text recogniser model name or path.")
    threshold: float = option(0.0, "Detector probability above which a pixel is text (0: the model's).")
    box_threshold: float = option(0.0, "Mean probability a detected box needs to be kept (0: the model's).")
    min_confidence: float = option(MIN_LINE_CONFIDENCE, "Lines whose mean character confidence is below this are "
                                   "dropped (the default is tuned on real photos: pipeline/skills/ocr/reader.py).")
    stable_frames: int = option(NEEDED_FRAMES, "A line is shown and announced once read in this many of the last "
                                "`stable_window` frames (1 and 1: every frame as read).")
    stable_window: int = option(WINDOW_FRAMES, "Frames looked back over for `stable_frames`.")


@dataclass
class OcrStageResult(StageResult):
    lines: list[TextLine] = field(default_factory=list)
    detect_ms: float = 0.0
    recognise_ms: float = 0.0


@STAGES.register("ocr", OcrConfig)
class OcrStage(Stage):
    def __init__(self, config: OcrConfig, env: StageEnv):
        super().__init__(config, env)
        if not 1 <= config.stable_frames <= config.stable_window:
            raise ConfigError(f"ocr: stable_frames ({config.stable_frames}) must be between 1 and stable_window "
                              f"({config.stable_window})")
        self.det, self.rec = env.load_model(config.detector), env.load_model(config.recogniser)
        # post-processing as the detector's contract says, with the real-photo box and line floors
        self.reader = OcrReader(self.det, self.rec, min_confidence=config.min_confidence)
        params = self.reader.params
        params.threshold = config.threshold or params.threshold
        params.box_threshold = config.box_threshold or params.box_threshold
        self.stabiliser = LineStabiliser(config.stable_frames, config.stable_window)
        self._last: tuple[str, ...] = ()

    def run(self, item: Item, results: dict) -> OcrStageResult:
        out = self.reader.read(item.data)
        lines = self.stabiliser.update(out.lines)
        texts = tuple(line.text for line in lines)
        if texts and texts != self._last:
            self.env.emit("text", {"lines": [{"text": l.text, "confidence": round(l.confidence, 3),
                                              "box": l.box} for l in lines], "frame": item.seq})
        self._last = texts
        return OcrStageResult(lines=lines, detect_ms=out.detect_ms, recognise_ms=out.recognise_ms)

    def reset(self) -> None:
        """Lines read before the stage was switched off must not reappear when it comes back."""
        self.stabiliser.reset()

    def engines(self):
        return [self.det, self.rec]
