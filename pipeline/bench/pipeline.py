"""`perceive bench pipeline CONFIG`: whole pipelines on their sources, budgets checked.

Replayed sources run at real-time pace (what a device sees: late frames are
dropped as live) and as fast as possible (the throughput limit, nothing lost).
Per stage and end to end (capture -> decision) the report gives p50/p90/p99,
budget misses and whether the budget held, which here means p99 <= budget.
CPU use is the process's CPU time over wall time (all threads: source, stages,
ONNX Runtime), as a share of one core and of the machine.
"""
from __future__ import annotations

import copy
import os
import time

from pipeline.bench.model import rss_mib
from pipeline.bench.progress import Progress
from pipeline.bench.report import document, load_average
from pipeline.bench.stats import summarize

POLL_S = 0.05
DROP_COUNTERS = ("dropped_stale", "skipped_policy")


def _held(summary: dict, budget: float | None) -> bool | None:
    if not budget:
        return None
    return bool(summary["count"] > 0 and summary["p99_ms"] <= budget)


def _stats_row(name: str, stats, budget: float | None) -> dict:
    s = summarize(stats.values())
    return {"stage": name, **{k: s[k] for k in ("count", "min_ms", "p50_ms", "p90_ms", "p99_ms", "mean_ms",
                                                 "max_ms")},
            "budget_ms": budget, "misses": stats.misses, "held": _held(s, budget)}


def run_once(pipeline_cfg, config, pace: str, seconds: float, items: int) -> dict:
    """Build the pipeline (models load before the clock starts), run it, report."""
    from pipeline.runtime.runner import PipelineRunner
    from pipeline.runtime.stage import StageEnv
    events = []
    runner = PipelineRunner(pipeline_cfg, StageEnv(config.engine, config.models.dirs, emit_fn=events.append))
    wall0, cpu0 = time.monotonic(), time.process_time()
    deadline = wall0 + seconds if seconds else None
    runner.start(caller_reraises=True)
    ticks = int(seconds / POLL_S) if seconds else items or 1
    try:
        with Progress(ticks, f"{pipeline_cfg.name} {pace}") as bar:
            while runner.running and (deadline is None or time.monotonic() < deadline):
                if items and runner.counters["processed"] >= items:
                    break
                time.sleep(POLL_S)
                bar.done = int((time.monotonic() - wall0) / POLL_S) if seconds else runner.counters["processed"]
                bar.update(0)
    finally:
        runner.stop()
    if runner.error is not None:  # a source that cannot be read, or a stage that failed: no result
        raise runner.error
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    stats = runner.stats()
    e2e = _stats_row("e2e", runner.e2e, pipeline_cfg.budget_ms or None)
    counters = stats["counters"]
    source = stats["source"]
    return {
        "pipeline": pipeline_cfg.name, "pace": pace, "note": "", "source_type": pipeline_cfg.source.type,
        "wall_s": wall, "items": counters.get("items", 0), "processed": counters.get("processed", 0),
        "items_per_s": counters.get("processed", 0) / wall if wall > 0 else 0.0,
        "drops": {**{k: counters.get(k, 0) for k in DROP_COUNTERS},
                  **{k: v for k, v in source.items() if "drop" in k or "overflow" in k}},
        "budget_misses": counters.get("budget_misses", 0),
        "stage_budget_misses": counters.get("stage_budget_misses", 0),
        "stages": [_stats_row(name, s, s.budget_ms) for name, s in runner.stage_stats.items()],
        "e2e": e2e, "e2e_samples_ms": [round(float(x), 3) for x in runner.e2e.values()],
        "cpu_core_share": cpu / wall if wall > 0 else 0.0,
        "cpu_machine_share": cpu / wall / (os.cpu_count() or 1) if wall > 0 else 0.0,
        "providers": stats["providers"], "events": len(events), "crashes": counters.get("crashes", 0),
        "source_stats": source,
    }


def bench_pipelines(config_path: str, overrides: list[str], paces: list[str], seconds: float,
                    items: int) -> dict:
    from pipeline.config.tree import load_config
    load_before = load_average()
    config = load_config(config_path, overrides, require_pipelines=True)
    results = []
    for pipeline_cfg in (p for p in config.pipelines if p.enabled):
        replayable = hasattr(pipeline_cfg.source, "pace")
        for pace in (paces if replayable else ["source clock"]):
            cfg = copy.deepcopy(pipeline_cfg)
            if replayable:
                cfg.source.pace = pace
            results.append(run_once(cfg, config, pace, seconds, items))
            if not replayable and "asap" in paces:
                results[-1]["note"] = (f"source type '{cfg.source.type}' is live or synthetic: "
                                       "no as-fast-as-possible replay")
    protocol = {"config": str(config_path), "overrides": list(overrides), "paces": list(paces),
                "seconds": seconds, "items": items, "engine": {
                    "providers": config.engine.providers, "intra_op_threads": config.engine.cpu.intra_op_threads,
                    "warmup_runs": config.engine.warmup_runs, "strict": config.engine.strict},
                "held": "p99 <= budget", "cpu": "process CPU time / wall time"}
    return document("pipeline", results, protocol, rss_mib()[1], load_before)
