"""Is every pipeline making progress? What one line says how the daemon is doing?

A pipeline is stuck when one stage has been running longer than ``stall_s``,
when its loop has not turned for ``stall_s`` (the runner stamps
``last_progress`` every turn, even when the source had nothing), or when its
thread died on a bug while its source was not finished. A supervised runner
restarts a thread that died on a bug with back-off: while it waits it is not
stuck; once it has died more often than its restart policy allows it is given up,
its thread ends, and it is stuck. Stuck withholds the systemd watchdog, so a
hung process (or one whose pipeline keeps dying) is restarted by systemd.

A pipeline is failed when it stopped on a ``PerceiveError``: its file source
cannot be opened or read (the source's ``error``), or a stage named bad input.
That is reported (status line, ``healthy`` gauge, metrics) but does not
withhold the watchdog: a restart cannot fix a bad file, and the daemon keeps
serving its other pipelines until a reload with a fixed config. A pipeline
whose file source has simply ended is done, neither stuck nor failed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from pipeline.errors import PerceiveError
from pipeline.runtime.runner import PipelineRunner


@dataclass
class Health:
    ok: bool                # nothing stuck: the watchdog may be pinged
    problems: list[str]     # stuck pipelines
    summary: str
    failed: list[str] = field(default_factory=list)   # "pipeline NAME: reason" for each failed one

    @property
    def healthy(self) -> bool:
        """Every pipeline runs or finished cleanly (the ``healthy`` gauge)."""
        return self.ok and not self.failed


def failure(runner: PipelineRunner) -> str | None:
    """Why the pipeline stopped on bad input (its own or its source's error), or None."""
    error = runner.error
    if error is None and runner.source.finished.is_set() and not runner.running:
        error = runner.source.error   # the source failed and the runner ended without raising it
    if not isinstance(error, PerceiveError):
        return None   # no error, or a bug: a dead thread, reported as stuck below
    return str(error) or type(error).__name__


def pipeline_problem(runner: PipelineRunner, stall_s: float, now: float | None = None) -> str | None:
    now = time.monotonic() if now is None else now
    name = runner.config.name
    if not runner.running and (runner.source.finished.is_set() or failure(runner) is not None):
        return None
    if not runner.running:
        restarts = runner.counters.get("restarts", 0)
        given_up = f", {restarts} restarts, given up" if restarts else ""
        return f"pipeline {name}: thread stopped ({runner.counters.get('crashes', 0)} crashes{given_up})"
    if getattr(runner, "restarting", False):   # a bounded back-off; a pipeline that keeps dying is given up
        return None
    busy_since = runner.busy_since
    if busy_since is not None and now - busy_since > stall_s:
        return f"pipeline {name}: stage {runner.current_stage} busy for {now - busy_since:.1f} s"
    if now - runner.last_progress > stall_s:
        return f"pipeline {name}: no progress for {now - runner.last_progress:.1f} s"
    return None


def failures(runners: list[PipelineRunner]) -> list[str]:
    return [f"pipeline {r.config.name}: {reason}" for r in runners if (reason := failure(r)) is not None]


def check(runners: list[PipelineRunner], stall_s: float) -> Health:
    now = time.monotonic()
    problems = [p for r in runners if (p := pipeline_problem(r, stall_s, now))]
    failed = failures(runners)
    return Health(not problems, problems, summarise(runners, problems, failed), failed)


def summarise(runners: list[PipelineRunner], problems: list[str], failed: list[str] | None = None) -> str:
    """E.g. ``2 pipelines, 1530 items, 0 reconnects``, ``failed: pipeline cam: <reason>; 2 pipelines
    (1 failed) ...`` or ``STUCK: <first problem>``."""
    if problems:
        return f"STUCK: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
    failed = failures(runners) if failed is None else failed
    stopped = [r for r in runners if not r.running and r.source.finished.is_set()]
    done = len(stopped) - sum(1 for r in stopped if failure(r) is not None)
    processed = sum(r.counters.get("processed", 0) for r in runners)
    reconnects = sum(int(r.source.counters.get("reconnects", 0)) for r in runners)
    restarts = sum(r.counters.get("restarts", 0) for r in runners)
    states = [f"{done} finished"] if done else []
    states += [f"{len(failed)} failed"] if failed else []
    parts = [f"{len(runners)} pipelines" + (f" ({', '.join(states)})" if states else ""),
             f"{processed} items", f"{reconnects} reconnects"] + ([f"{restarts} restarts"] if restarts else [])
    status = ", ".join(parts)
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        status = f"failed: {failed[0]}{more}; {status}"
    return status
