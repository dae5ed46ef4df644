"""Prometheus metrics: per-stage latency histograms observed per item, counters read at scrape time.

Counters come from the runners' own counters. A reload replaces the runners,
so the totals of retired runners are carried forward and the exported counters
never go backwards.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from pipeline.daemon.config import MetricsConfig
from pipeline.daemon.health import failure
from pipeline.errors import ConfigError
from pipeline.runtime.runner import ItemReport, PipelineRunner

log = logging.getLogger("perceive.daemon.metrics")

MS_PER_S = 1000.0
# (metric suffix, help, where the value comes from in runner.stats())
_PIPELINE_COUNTERS = [
    ("items", "Items taken from the source.", "items"),
    ("processed", "Items run through every stage.", "processed"),
    ("dropped_stale", "Items dropped because they were older than the budget when taken.", "dropped_stale"),
    ("skipped_policy", "Items skipped by the every_nth budget policy.", "skipped_policy"),
    ("budget_misses", "Items whose capture-to-decision latency missed the pipeline budget.", "budget_misses"),
    ("crashes", "Pipeline threads that stopped on an error: a bug, or bad input such as a file source "
                "that cannot be read (then perceive_pipeline_failed is 1).", "crashes"),
    ("restarts", "Pipeline threads restarted with back-off after dying on a bug; one that keeps dying is "
                 "given up (perceive_healthy 0, the watchdog is withheld).", "restarts"),
]
_SOURCE_COUNTERS = [
    ("source_reconnects", "Times the source failed and was reopened with back-off.", "reconnects"),
    ("source_dropped", "Frames replaced by a newer one before the pipeline took them.", "dropped"),
    ("source_corrupt", "Corrupt items the source skipped.", "corrupt"),
    ("source_read", "Frames or sensor lines read by the source.", ("read", "lines")),
    ("source_samples", "Audio or sensor samples delivered by the source.", "samples"),
]


def pipeline_totals(runner: PipelineRunner) -> Counter:
    """Every counter the collector exports for one runner, keyed by (metric, labels)."""
    name = runner.config.name
    totals: Counter = Counter()
    for metric, _, key in _PIPELINE_COUNTERS:
        totals[(metric, (name,))] += runner.counters.get(key, 0)
    src = runner.source.stats()
    for metric, _, keys in _SOURCE_COUNTERS:
        keys = keys if isinstance(keys, tuple) else (keys,)  # sources name the same thing differently
        totals[(metric, (name,))] += sum(int(src.get(k, 0) or 0) for k in keys)
    for stage, stats in runner.stage_stats.items():
        totals[("stage_budget_misses", (name, stage))] += stats.misses
    return totals


class PerceiveCollector:
    """Reads the live runners at scrape time (no per-item work on the hot path)."""

    def __init__(self, runners: Callable[[], list[PipelineRunner]], extra: Callable[[], dict]):
        self._runners = runners
        self._extra = extra
        self.retired: Counter = Counter()
        self._lock = threading.Lock()

    def retire(self, runners: Iterable[PipelineRunner]) -> None:
        with self._lock:
            for r in runners:
                self.retired.update(pipeline_totals(r))

    def collect(self):
        runners = list(self._runners())
        with self._lock:
            totals = Counter(self.retired)
        for r in runners:
            totals.update(pipeline_totals(r))
        yield from self._counters(totals)
        yield self._providers(runners)
        up = GaugeMetricFamily("perceive_pipeline_running", "1 while the pipeline thread runs.",
                               labels=["pipeline"])
        for r in runners:
            up.add_metric([r.config.name], 1.0 if r.running else 0.0)
        yield up
        failed = GaugeMetricFamily("perceive_pipeline_failed", "1 while the pipeline is stopped by bad input "
                                   "(a file source that cannot be read); a reload with a fixed config clears it.",
                                   labels=["pipeline"])
        for r in runners:
            failed.add_metric([r.config.name], 0.0 if failure(r) is None else 1.0)
        yield failed
        given_up = GaugeMetricFamily("perceive_pipeline_given_up", "1 when the pipeline thread kept dying on a bug "
                                     "and is not restarted again (the watchdog is withheld: systemd restarts "
                                     "the service).", labels=["pipeline"])
        for r in runners:
            given_up.add_metric([r.config.name], 1.0 if r.gave_up else 0.0)
        yield given_up
        for name, (kind, help_text, value) in self._extra().items():
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(f"perceive_{name}", help_text, value=value)

    def _counters(self, totals: Counter):
        helps = {m: h for m, h, _ in _PIPELINE_COUNTERS + _SOURCE_COUNTERS}
        helps["stage_budget_misses"] = "Stage runs that took longer than the stage budget."
        for metric, help_text in helps.items():
            labels = ["pipeline", "stage"] if metric == "stage_budget_misses" else ["pipeline"]
            family = CounterMetricFamily(f"perceive_{metric}", help_text, labels=labels)
            for (m, values), v in sorted(totals.items()):
                if m == metric:
                    family.add_metric(list(values), float(v))
            yield family

    @staticmethod
    def _providers(runners: list[PipelineRunner]) -> GaugeMetricFamily:
        info = GaugeMetricFamily("perceive_model_provider",
                                 "1 for the execution provider each model really runs on.",
                                 labels=["pipeline", "stage", "model", "provider"])
        for r in runners:
            for stage in r.stages:
                for engine in stage.engines():
                    info.add_metric([r.config.name, stage.name, engine.path.name, engine.provider], 1.0)
        return info


class Metrics:
    def __init__(self, config: MetricsConfig, runners: Callable[[], list[PipelineRunner]],
                 extra: Callable[[], dict]):
        self.config = config
        self.registry = CollectorRegistry()
        buckets = [b / MS_PER_S for b in config.latency_buckets_ms]
        self.stage_seconds = Histogram("perceive_stage_latency_seconds", "Time one stage took on one item.",
                                       ["pipeline", "stage"], buckets=buckets, registry=self.registry)
        self.e2e_seconds = Histogram("perceive_e2e_latency_seconds",
                                     "Capture to last stage done, per processed item.",
                                     ["pipeline"], buckets=buckets, registry=self.registry)
        self.collector = PerceiveCollector(runners, extra)
        self.registry.register(self.collector)
        self._server = None
        self.port = 0

    def observe(self, pipeline: str, report: ItemReport) -> None:
        for stage, ms in report.stage_ms.items():
            self.stage_seconds.labels(pipeline, stage).observe(ms / MS_PER_S)
        self.e2e_seconds.labels(pipeline).observe(report.e2e_ms / MS_PER_S)

    def start(self) -> "Metrics":
        try:
            self._server, _ = start_http_server(self.config.port, self.config.host, registry=self.registry)
        except OSError as exc:  # port taken, address not on this host: a config problem, not a crash
            raise ConfigError(f"daemon.metrics: cannot listen on {self.config.host}:{self.config.port} ({exc}); "
                              "set daemon.metrics.port (0 picks a free port) or daemon.metrics.enabled = false") \
                from None
        except UnicodeError as exc:  # a host name the resolver cannot even encode (a label over 63 bytes)
            raise ConfigError(f"daemon.metrics.host: {self.config.host[:80]!r} is not a host name ({exc})") from None
        self.port = self._server.server_address[1]
        log.info("metrics on http://%s:%d/metrics", self.config.host, self.port,
                 extra={"metrics_port": self.port})
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

