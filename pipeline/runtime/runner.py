"""The stage runner: source -> stages, every stage of every item timed against its budget.

Latency never accumulates: video sources keep only the newest frame, and the
budget policy decides what happens after a miss:
- ``drop``: an item already older than the pipeline budget when it is taken is
  dropped unprocessed (a droppable stream only: audio and sensor blocks are
  never dropped, their stages keep state across blocks; misses are counted);
- ``every_nth``: after a miss only every Nth item is processed until
  ``recover_after`` items in a row meet the budget (droppable streams only);
- ``downscale``: after a miss frames are shrunk by ``downscale`` per miss (down
  to ``min_scale``), and grown back one step per ``recover_after`` good items
  (resizable streams only).
Config validation refuses a policy the source's stream (``StreamInfo``) cannot take.
Ages and end-to-end latency count from ``Item.captured_at``: for audio and sensor
blocks that is when their last sample was written into the source's ring buffer,
so the time spent waiting there is included.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

import cv2

from pipeline.config.loader import option
from pipeline.errors import ConfigError, PerceiveError
from pipeline.runtime.stage import StageConfig, StageEnv, StageResult, build_stage
from pipeline.sources.base import Item, Source, SourceConfig, open_source, stream_of
from pipeline.stats import LatencyStats

log = logging.getLogger("perceive.runner")


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


@dataclass
class ItemReport:
    seq: int
    age_at_start_ms: float  # capture -> first stage starts
    e2e_ms: float           # capture -> last stage done
    stage_ms: dict[str, float]
    results: dict[str, StageResult] = field(repr=False, default_factory=dict)


class PolicyState:
    def __init__(self, policy: BudgetPolicy):
        self.p = policy
        self.scale = 1.0
        self.degraded = False
        self._good = 0
        self._skip = 0

    def admit(self) -> bool:
        if self.p.policy != "every_nth" or not self.degraded:
            return True
        self._skip = (self._skip + 1) % self.p.every_nth
        return self._skip == 0

    def observe(self, missed: bool) -> None:
        if missed:
            self._good = 0
            self.degraded = True
            if self.p.policy == "downscale":
                self.scale = max(self.p.min_scale, self.scale * self.p.downscale)
            return
        self._good += 1
        if self.degraded and self._good >= self.p.recover_after:
            self._good = 0
            if self.p.policy == "downscale":
                self.scale = min(1.0, self.scale / self.p.downscale)
                self.degraded = self.scale < 1.0
            else:
                self.degraded = False


class PipelineRunner:
    def __init__(self, config: PipelineConfig, env: StageEnv, source: Source | None = None,
                 stages: list | None = None, keep_reports: int = 1000):
        self.config = config
        self.env = env
        self.env.pipeline = config.name
        self.env.source = config.source
        self.stream = stream_of(config.source)
        problem = config.check()   # a config built in code skipped validation
        if problem:
            raise ConfigError(f"pipeline {config.name}: {problem}")
        self.source = source or open_source(config.source, config.name)
        self.stages = stages if stages is not None else [build_stage(s, env) for s in config.stages]
        self.stage_stats = {s.name: LatencyStats(s.config.budget_ms or None) for s in self.stages}
        self.e2e = LatencyStats(config.budget_ms or None)
        self.counters: Counter[str] = Counter()
        self.policy = PolicyState(config.budget)
        self.reports: deque[ItemReport] = deque(maxlen=keep_reports)
        self.last_progress = time.monotonic()
        self.busy_since: float | None = None  # set while a stage runs: the watchdog reads it
        self.current_stage = ""
        self._stop = threading.Event()
        self.error: Exception | None = None    # what stopped the run on its thread, if anything
        self._caller_reraises = False
        self._thread: threading.Thread | None = None

    def step(self, timeout: float = 0.5) -> ItemReport | None:
        """Take one item and run it through every stage (or drop it by policy)."""
        item = self.source.get(timeout)
        self.last_progress = time.monotonic()
        if item is None:
            return None
        return self._handle(item)

    def _handle(self, item: Item) -> ItemReport | None:
        self.counters["items"] += 1
        age_ms = (time.monotonic() - item.captured_at) * 1000
        budget = self.config.budget_ms
        if self.config.budget.policy == "drop" and budget and age_ms > budget and self.stream.droppable:
            self.counters["dropped_stale"] += 1
            return None
        if not self.policy.admit():
            self.counters["skipped_policy"] += 1
            return None
        if self.policy.scale < 1.0 and self.stream.resizable and item.data.ndim >= 2:
            item.data = cv2.resize(item.data, None, fx=self.policy.scale, fy=self.policy.scale,
                                   interpolation=cv2.INTER_AREA)
            self.counters["downscaled"] += 1
        return self._run_stages(item, age_ms)

    def _run_stages(self, item: Item, age_ms: float) -> ItemReport:
        results: dict[str, StageResult] = {}
        stage_ms = {}
        for stage in self.stages:
            self.current_stage, self.busy_since = stage.name, time.monotonic()
            result = stage.process(item, results)
            results[stage.name] = result
            stage_ms[stage.name] = result.elapsed_ms
            if self.stage_stats[stage.name].add(result.elapsed_ms):
                self.counters["stage_budget_misses"] += 1
        self.busy_since, self.current_stage = None, ""
        e2e_ms = (time.monotonic() - item.captured_at) * 1000
        missed = self.e2e.add(e2e_ms)
        self.counters["budget_misses"] += missed
        self.policy.observe(missed)
        self.counters["processed"] += 1
        self.last_progress = time.monotonic()
        report = ItemReport(item.seq, age_ms, e2e_ms, stage_ms, results)
        self.reports.append(report)
        return report

    def run(self, max_items: int | None = None) -> None:
        """Process until the source finishes, ``stop()`` is called, or ``max_items`` are done."""
        if not self.source.alive:
            self.source.start()
        while not self._stop.is_set():
            self.step()
            if max_items is not None and self.counters["processed"] >= max_items:
                break
            if self.source.finished.is_set() and self._drained():
                break

    def _drained(self) -> bool:
        item = self.source.get(0.0)
        if item is None:
            return True
        self._handle(item)
        return False

    def start(self, caller_reraises: bool = False) -> "PipelineRunner":
        """Run on a thread. ``caller_reraises``: the caller raises ``error`` itself (a command that
        exits with one line), so it is not logged here with its traceback."""
        self._caller_reraises = caller_reraises
        self._thread = threading.Thread(target=self._guarded_run, name=f"pipeline-{self.config.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def _guarded_run(self) -> None:
        try:
            self.run()
        except Exception as exc:  # keeps other pipelines alive; the daemon's watchdog sees no progress
            self.error = exc
            self.counters["crashes"] += 1
            if self._caller_reraises:
                return
            if isinstance(exc, PerceiveError):  # a file that cannot be read: what to fix, not where
                log.error("pipeline %s stopped: %s", self.config.name, exc)
            else:  # a bug: keep the traceback
                log.exception("pipeline %s stopped on an error", self.config.name)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.source.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        for stage in self.stages:
            stage.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_until_interrupted(self) -> None:
        """Run on the runner's own thread until the source ends or Ctrl-C, then stop; an error that
        stopped the run is raised here. The main thread only waits, so a KeyboardInterrupt lands
        here and never inside the pipeline, where it could leave a lock held with a live audio
        callback waiting on it."""
        self.start(caller_reraises=True)
        try:
            while self.running:
                self._thread.join(0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        if self.error is not None:   # as if run() had raised it here
            raise self.error

    def stats(self) -> dict:
        return {
            "pipeline": self.config.name,
            "counters": dict(self.counters),
            "source": self.source.stats(),
            "stages": {name: s.summary().as_dict() for name, s in self.stage_stats.items()},
            "e2e": self.e2e.summary().as_dict(),
            "scale": self.policy.scale,
            "providers": {e.path.name: e.provider for s in self.stages for e in s.engines()},
        }
