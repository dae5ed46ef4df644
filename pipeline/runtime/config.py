"""The config types of a pipeline: its table, its budget policy, and the stage table with its registry.

Light on purpose (dataclasses over ``pipeline.config.loader`` and the source table): the config tree
reads them without loading the runner, the engine or ONNX Runtime. The runner
(``pipeline.runtime.runner``) and the stage base (``pipeline.runtime.stage``) re-export them, so
stage modules keep registering with ``from pipeline.runtime.stage import STAGES, StageConfig``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.config.loader import Registry, Tagged, option
from pipeline.sources.base import SourceConfig, stream_of

STAGES = Registry("stage")


@dataclass(kw_only=True)
class StageConfig(Tagged):
    registry = STAGES
    type: str = option("", "Stage type.")
    name: str = option("", "Name in metrics and logs; defaults to the type.")
    budget_ms: float = option(0.0, "Latency budget of this stage per item; 0 means none.", at_least=0)


@dataclass(kw_only=True)
class BudgetPolicy:
    policy: Literal["drop", "every_nth", "downscale"] = option(
        "drop", "What to do after a budget miss. drop: stale video frames (audio and sensor blocks are only "
                "counted); every_nth and downscale: video only (refused for audio and sensor streams).")
    every_nth: int = option(2, "every_nth: process one item in N while over budget.", at_least=1)
    downscale: float = option(0.75, "downscale: frame scale factor applied per miss.", above=0, at_most=1)
    min_scale: float = option(0.25, "downscale: the smallest scale used.", above=0, at_most=1)
    recover_after: int = option(30, "Items in a row within budget before the policy relaxes.", at_least=1)


def budget_problem(budget: BudgetPolicy, source: SourceConfig) -> str | None:
    """Why ``budget`` makes no sense for the stream of ``source`` ("budget.policy: ..."), or None."""
    stream = stream_of(source)
    if budget.policy == "every_nth" and not stream.droppable:
        return (f"budget.policy: 'every_nth' skips items, but the {stream.kind} stream of source '{source.type}' "
                "cannot lose a block (its stages keep state from one block to the next); use policy = \"drop\", "
                "which on such a stream counts misses and drops nothing")
    if budget.policy == "downscale" and not stream.resizable:
        return (f"budget.policy: 'downscale' shrinks images, but source '{source.type}' delivers a "
                f"{stream.kind} stream, not images; use policy = \"drop\"")
    return None


@dataclass(kw_only=True)
class PipelineConfig:
    name: str = option(doc="Pipeline name, used in logs, metrics and events.")
    source: SourceConfig = option(doc="Where items come from (a table with a 'type').")
    stages: list[StageConfig] = option(factory=list, doc="Stages run in order on every item.")
    budget_ms: float = option(0.0, "End-to-end budget from capture to decision; 0 means none.", at_least=0)
    budget: BudgetPolicy = option(factory=BudgetPolicy, doc="Policy applied when the budget is missed.")
    enabled: bool = option(True, "Run this pipeline.")

    def check(self) -> str | None:
        return budget_problem(self.budget, self.source)
