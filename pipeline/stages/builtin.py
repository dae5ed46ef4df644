"""Generic stages: ``model`` runs any image model by its contract; ``delay`` simulates work."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pipeline.config.loader import option
from pipeline.errors import ContractError
from pipeline.preprocess.image import to_tensor
from pipeline.runtime.stage import STAGES, Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item

MAX_DELAY_MS = 3_600_000  # an hour: enough to simulate a stuck stage for the watchdog (tests use minutes)
MAX_INPUT_SIDE = 8192   # pixels: an 8192x8192 float32 RGB tensor is 768 MiB


@dataclass(kw_only=True)
class DelayConfig(StageConfig):
    ms: float = option(10.0, "Time each item takes.", at_least=0, at_most=MAX_DELAY_MS)
    mode: Literal["sleep", "spin"] = option("sleep", "sleep frees the CPU; spin burns it like real work.")
    startup_ms: float = option(0.0, "Time building the stage takes, like a slow model load.",
                               at_least=0, at_most=MAX_DELAY_MS)


@dataclass
class DelayResult(StageResult):
    seq: int = 0


@STAGES.register("delay", DelayConfig)
class DelayStage(Stage):
    """Stands in for a stage of known cost: for tests of the runner and for runtime-overhead benchmarks."""

    def __init__(self, config: DelayConfig, env):
        super().__init__(config, env)
        time.sleep(config.startup_ms / 1000)

    def run(self, item: Item, results: dict) -> DelayResult:
        if self.config.mode == "sleep":
            time.sleep(self.config.ms / 1000)
        else:
            end = time.perf_counter() + self.config.ms / 1000
            while time.perf_counter() < end:
                pass
        return DelayResult(seq=item.seq)


@dataclass(kw_only=True)
class ModelStageConfig(StageConfig):
    model: str = option(doc="Model name (NAME.onnx in the model dirs) or path.")
    width: int = option(0, "Input width for models with a dynamic width; 0 uses the contract's.",
                        at_least=0, at_most=MAX_INPUT_SIDE)
    height: int = option(0, "Input height for models with a dynamic height; 0 uses the contract's.",
                         at_least=0, at_most=MAX_INPUT_SIDE)

    def check(self) -> str | None:
        return None if self.model else "model: required"


@dataclass
class ModelOutput(StageResult):
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


@STAGES.register("model", ModelStageConfig)
class ModelStage(Stage):
    """Runs an image model on each frame as its contract says; returns the raw outputs."""

    def __init__(self, config: ModelStageConfig, env: StageEnv):
        super().__init__(config, env)
        self.engine = env.load_model(config.model)
        contract = self.engine.contract
        if contract is None or contract.image is None:
            raise ContractError(f"stage '{self.name}': model {config.model} has no image section "
                                "in its contract; the generic model stage runs image models only")
        self.spec = contract.image
        h, w = config.height or self.spec.height, config.width or self.spec.width
        if not h or not w:
            raise ContractError(f"stage '{self.name}': model {config.model} has a dynamic input size; "
                                "set width and height in the stage config")
        self.size = (h, w)
        self.input_name = self.engine.inputs[0].name

    def run(self, item: Item, results: dict) -> ModelOutput:
        tensor, _ = to_tensor(item.data, self.spec, self.size)
        return ModelOutput(outputs=self.engine.run({self.input_name: tensor}))

    def engines(self):
        return [self.engine]
