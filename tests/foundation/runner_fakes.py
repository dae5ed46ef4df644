"""An in-memory source and small stages for tests of the runner's hooks and restarts.

The source hands out items as fast as they are taken (no pacing, nothing dropped), so what the
runner did is exact: item N is the Nth item any stage saw.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

from pipeline.runtime.runner import PipelineConfig, PipelineRunner
from pipeline.runtime.stage import Stage, StageConfig, StageEnv, StageResult
from pipeline.sources.base import Item
from pipeline.sources.synthetic import SyntheticVideoConfig

WAIT_S = 30.0   # every wait in these tests ends on an event long before this


class ListSource:
    """``count`` items (None: for ever), each a tiny frame stamped when it is taken."""

    def __init__(self, count: int | None = None):
        self.count = count
        self.counters: Counter[str] = Counter()
        self.finished = threading.Event()
        self.error = None
        self.alive = False
        self._seq = 0

    def start(self):
        self.alive = True
        return self

    def get(self, timeout: float = 0.5) -> Item | None:
        if self.count is not None and self._seq >= self.count:
            self.finished.set()
            self.alive = False
            return None
        self._seq += 1
        self.counters["read"] += 1
        return Item(self._seq, time.monotonic(), np.zeros((4, 4, 3), np.uint8))

    def stop(self, timeout: float = 2.0) -> None:
        self.alive = False

    def stats(self) -> dict:
        return dict(self.counters)


class RecordingStage(Stage):
    """Returns the item's seq; counts resets and remembers the thread each reset ran on."""

    def __init__(self, name: str, env: StageEnv | None = None, fail_on: set[int] | None = None,
                 error: Exception | None = None):
        super().__init__(StageConfig(type="delay", name=name), env or StageEnv())
        self.fail_on = fail_on or set()   # item seqs on which the stage raises; {0}: every item
        self.error = error or RuntimeError("index out of range")
        self.seen: list[int] = []
        self.reset_threads: list[threading.Thread] = []

    def run(self, item: Item, results: dict) -> StageResult:
        if 0 in self.fail_on or item.seq in self.fail_on:
            raise self.error
        self.seen.append(item.seq)
        return StageResult()

    def reset(self) -> None:
        self.reset_threads.append(threading.current_thread())


def make_runner(stages: list[Stage], source: ListSource | None = None, env: StageEnv | None = None,
                name: str = "p", **kwargs) -> PipelineRunner:
    config = PipelineConfig(name=name, source=SyntheticVideoConfig(), stages=[s.config for s in stages])
    return PipelineRunner(config, env or StageEnv(), source=source or ListSource(), stages=stages, **kwargs)


def wait_until(condition, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
