"""Is every pipeline making progress? What one line says how the daemon is doing?

A pipeline is stuck when one stage has been running longer than ``stall_s``,
when its loop has not turned for ``stall_s`` (the runner stamps
``last_progress`` every turn, even when the source had nothing), or when its
thread died while its source was not finished. A pipeline whose file source
has ended is done, not stuck.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from pipeline.runtime.runner import PipelineRunner


@dataclass
class Health:
    ok: bool
    problems: list[str]
    summary: str


def pipeline_problem(runner: PipelineRunner, stall_s: float, now: float | None = None) -> str | None:
    now = time.monotonic() if now is None else now
    name = runner.config.name
    if runner.source.finished.is_set() and not runner.running:
        return None
    if not runner.running:
        return f"pipeline {name}: thread stopped ({runner.counters.get('crashes', 0)} crashes)"
    busy_since = runner.busy_since
    if busy_since is not None and now - busy_since > stall_s:
        return f"pipeline {name}: stage {runner.current_stage} busy for {now - busy_since:.1f} s"
    if now - runner.last_progress > stall_s:
        return f"pipeline {name}: no progress for {now - runner.last_progress:.1f} s"
    return None


def check(runners: list[PipelineRunner], stall_s: float) -> Health:
    now = time.monotonic()
    problems = [p for r in runners if (p := pipeline_problem(r, stall_s, now))]
    return Health(not problems, problems, summarise(runners, problems))


def summarise(runners: list[PipelineRunner], problems: list[str]) -> str:
    """E.g. ``2 pipelines, 1530 items, 0 reconnects`` or the first problem."""
    if problems:
        return f"STUCK: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
    done = sum(1 for r in runners if r.source.finished.is_set() and not r.running)
    processed = sum(r.counters.get("processed", 0) for r in runners)
    reconnects = sum(int(r.source.counters.get("reconnects", 0)) for r in runners)
    parts = [f"{len(runners)} pipelines" + (f" ({done} finished)" if done else ""),
             f"{processed} items", f"{reconnects} reconnects"]
    return ", ".join(parts)
