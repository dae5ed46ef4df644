"""The runner's own cost per item: ``PipelineRunner.step`` on an in-memory source through no-op stages.

What is timed is everything the runner does around the stages (take the item, age and policy
checks, per-stage timing and statistics, the report, the hooks), plus the no-op stages' call
overhead; the source's own cost (making an Item) is timed alone and subtracted. One process per
measurement; run it under two checkouts alternately to compare them:

    for i in 1 2 3 4 5; do for tree in /tmp/base /work/wt/hooks; do
      PYTHONPATH=$tree python tests/bench/runner_overhead.py --label $tree; done; done

Prints one JSON line: label, items, stages, runner_us_per_item (median of the repeats), the least
repeat (the one least disturbed by other processes on a shared machine), all repeats.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from pipeline.runtime.runner import PipelineConfig, PipelineRunner
from pipeline.runtime.stage import Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item
from pipeline.sources.synthetic import SyntheticVideoConfig

FRAME_SHAPE = (8, 8, 3)
WARMUP_ITEMS = 2000
US_PER_S = 1e6


class NoopStage(Stage):
    def run(self, item, results):
        return StageResult()


class EndlessSource:
    """A new Item per get(), stamped now, as a real source does; never empty, never finished."""

    def __init__(self):
        self.data = np.zeros(FRAME_SHAPE, np.uint8)
        self.seq = 0
        self.alive = True

    def get(self, timeout: float = 0.0) -> Item:
        self.seq += 1
        return Item(self.seq, time.monotonic(), self.data)

    def stop(self, timeout: float = 0.0) -> None:
        pass


def per_item_s(fn, items: int) -> float:
    start = time.perf_counter()
    for _ in range(items):
        fn()
    return (time.perf_counter() - start) / items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--stages", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    stages = [NoopStage(StageConfig(type="delay", name=f"noop{i}"), StageEnv()) for i in range(args.stages)]
    config = PipelineConfig(name="overhead", source=SyntheticVideoConfig(), stages=[s.config for s in stages])
    source = EndlessSource()
    runner = PipelineRunner(config, StageEnv(), source=source, stages=stages)
    per_item_s(lambda: runner.step(0.0), WARMUP_ITEMS)
    repeats = []
    for _ in range(args.repeats):
        source_s = per_item_s(lambda: source.get(0.0), args.items)
        total_s = per_item_s(lambda: runner.step(0.0), args.items)
        repeats.append(round((total_s - source_s) * US_PER_S, 3))
    print(json.dumps({"label": args.label, "items": args.items, "stages": args.stages,
                      "runner_us_per_item": statistics.median(repeats), "least_us": min(repeats),
                      "repeats_us": repeats}))


if __name__ == "__main__":
    main()
