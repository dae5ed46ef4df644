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

Hooks, the public way to watch and steer a runner (the daemon and the demo use nothing else):
``on_event`` (every event its stages emit), ``on_report`` (every processed item's timings and
results), ``enable_stage`` / ``disable_stage`` (a stage switched off is skipped from the next item
on and its carried-over state is reset). A runner given a ``RestartPolicy`` restarts its thread
with back-off when a stage or source dies on a bug (``pipeline.runtime.restart``).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

import cv2

from pipeline.errors import ConfigError, PerceiveError
from pipeline.runtime.config import BudgetPolicy, PipelineConfig, budget_problem  # noqa: F401  (defined light, for the config tree)
from pipeline.runtime.restart import RestartPolicy, RestartTracker
from pipeline.runtime.stage import Event, Stage, StageEnv, StageResult, build_stage
from pipeline.sources.base import Item, Source, open_source, stream_of
from pipeline.stats import LatencyStats

log = logging.getLogger("perceive.runner")


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
                 stages: list | None = None, keep_reports: int = 1000, restart: RestartPolicy | None = None):
        self.config = config
        self.env = env
        self.env.pipeline = config.name
        self.env.source = config.source
        self.stream = stream_of(config.source)
        problem = config.check()   # a config built in code skipped validation
        if problem:
            raise ConfigError(f"pipeline {config.name}: {problem}")
        # Events of the stages go through the runner's hooks; an emit_fn given in the env is the first.
        self._event_hooks: list[Callable[[Event], None]] = [env.emit_fn] if env.emit_fn is not None else []
        self._report_hooks: list[Callable[[ItemReport], None]] = []
        env.emit_fn = self._emit_event
        self.source = source or open_source(config.source, config.name)
        self.stages = stages if stages is not None else [build_stage(s, env) for s in config.stages]
        # ``stages``: the enabled ones, in order (what each item runs through); ``all_stages``: every one.
        self.all_stages: list[Stage] = list(self.stages)
        self._resets_due: list[Stage] = []   # switched off from another thread: reset on the pipeline's
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
        self.restart = restart               # None: a thread that dies stays dead (commands, the demo)
        self.restarting = False              # True while waiting out a restart back-off
        self.gave_up = False                 # died more often than the restart policy allows

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
        if self._resets_due:
            self._apply_resets()
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
        for hook in self._report_hooks:
            hook(report)
        return report

    # -- hooks ---------------------------------------------------------------
    def on_event(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        """Call ``callback(event)`` for every event this pipeline's stages emit (on the emitting thread)."""
        self._event_hooks.append(callback)
        return callback

    def on_report(self, callback: Callable[[ItemReport], None]) -> Callable[[ItemReport], None]:
        """Call ``callback(report)`` after every processed item, on the pipeline's thread: keep it short,
        it is part of the item's time. An exception in it is the pipeline's own."""
        self._report_hooks.append(callback)
        return callback

    def _emit_event(self, event: Event) -> None:
        for hook in self._event_hooks:
            hook(event)

    def stage_enabled(self, name: str) -> bool:
        return any(s.name == name for s in self.stages)

    def enable_stage(self, name: str) -> None:
        self.set_stage_enabled(name, True)

    def disable_stage(self, name: str) -> None:
        self.set_stage_enabled(name, False)

    def set_stage_enabled(self, name: str, enabled: bool) -> None:
        """Run the stage ``name`` from the next item on, or skip it. Switching a stage off resets what
        it carries from item to item (``Stage.reset``), so nothing stale comes back when it returns:
        at once when called on the pipeline's thread or while no thread runs (the demo's key), else
        on the pipeline's thread before its next item."""
        stage = next((s for s in self.all_stages if s.name == name), None)
        if stage is None:
            raise KeyError(f"pipeline {self.config.name}: no stage named {name!r} "
                           f"(stages: {', '.join(s.name for s in self.all_stages)})")
        was_enabled = stage in self.stages
        # A new list, never mutated in place: the pipeline's thread may be iterating the old one.
        self.stages = [s for s in self.all_stages if (enabled if s is stage else s in self.stages)]
        if was_enabled and not enabled:
            if self.running and threading.current_thread() is not self._thread:
                self._resets_due = self._resets_due + [stage]
            else:
                stage.reset()

    def _apply_resets(self) -> None:
        due, self._resets_due = self._resets_due, []
        for stage in due:
            stage.reset()

    # -- running -------------------------------------------------------------
    def run(self, max_items: int | None = None) -> None:
        """Process until the source finishes, ``stop()`` is called, or ``max_items`` are done."""
        if not self.source.alive:
            self.source.start()
        self._loop(max_items)

    def _loop(self, max_items: int | None = None) -> None:
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
        tracker = RestartTracker(self.restart) if self.restart is not None and not self._caller_reraises else None
        body = self.run
        while True:
            try:
                body()
                return
            except Exception as exc:  # keeps other pipelines alive; the daemon's watchdog sees no progress
                self.counters["crashes"] += 1
                self.busy_since, self.current_stage = None, ""
                if self._caller_reraises or isinstance(exc, PerceiveError) or tracker is None:
                    self._stopped_on(exc)
                    return
                if not self._restart_after(exc, tracker):
                    return
                # The source runs on (a file that ended cleanly is not replayed), unless it was the
                # source that died on a bug: then it is started again with the pipeline.
                source_error = getattr(self.source, "error", None)
                body = self.run if source_error is not None and self.source.finished.is_set() else self._loop

    def _stopped_on(self, exc: Exception) -> None:
        self.error = exc
        if self._caller_reraises:
            return
        if isinstance(exc, PerceiveError):  # a file that cannot be read: what to fix, not where
            log.error("pipeline %s stopped: %s", self.config.name, exc)
        else:  # a bug: keep the traceback
            log.exception("pipeline %s stopped on an error", self.config.name, exc_info=exc)

    def _restart_after(self, exc: Exception, tracker: RestartTracker) -> bool:
        """Wait out the back-off and reset the stages; False when the policy gives up or stop() came."""
        name = self.config.name
        delay = tracker.next_delay()
        if delay is None:
            self.error, self.gave_up = exc, True
            log.error("pipeline %s died again after %d restarts in %.0f s; not restarted, given up",
                      name, tracker.recent, self.restart.window_s, exc_info=exc)
            return False
        self.counters["restarts"] += 1
        log.error("pipeline %s died on an error; restart %d in %.1f s", name, self.counters["restarts"], delay,
                  exc_info=exc)
        self.restarting = True
        try:
            sleep = self.restart.sleep or self._stop.wait
            sleep(delay)
        finally:
            self.restarting = False
        if self._stop.is_set():
            return False
        for stage in self.all_stages:   # what a stage carried over may be what broke it
            stage.reset()
        self.last_progress = time.monotonic()
        return True

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.source.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        for stage in self.all_stages:
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
