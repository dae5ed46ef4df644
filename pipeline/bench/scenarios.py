"""Load scenarios modelled on MLPerf LoadGen, on any ``infer()`` callable.

- single-stream: one query at a time, the next issued when the previous ends;
  the metric is p90 latency.
- server: queries arrive as a Poisson process at a target rate; each query's
  latency runs from its *scheduled* arrival to its completion, so queueing
  behind a slow query counts (as in LoadGen). Pass when p99 <= the bound.
- offline: every sample is available at once, issued in batches back to back;
  the metric is samples per second.

The clock and sleep are parameters so that tests drive the logic with
synthetic timings; benchmarks use ``time.perf_counter`` and ``time.sleep``.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from pipeline.bench.stats import summarize

# MLPerf LoadGen asks for enough queries that the tail percentile rests on several samples.
MIN_QUERIES_FOR_P99 = 100
# time.sleep overshoots by tens of microseconds: sleep until this close to the due time, then spin.
SPIN_S = 0.002


def single_stream(infer: Callable[[], object], runs: int, clock=time.perf_counter) -> dict:
    ms = np.empty(runs)
    for i in range(runs):
        start = clock()
        infer()
        ms[i] = (clock() - start) * 1000
    lat = summarize(ms)
    return {"scenario": "single_stream", "metric": "p90_ms", "value": lat["p90_ms"], "latency": lat}


def poisson_arrivals(rate_per_s: float, queries: int, seed: int = 0) -> np.ndarray:
    """Arrival offsets in seconds: cumulative exponential gaps with mean 1 / rate."""
    if rate_per_s <= 0:
        raise ValueError("server rate must be > 0 queries per second")
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_per_s, size=queries)
    return np.cumsum(gaps)


def server(infer: Callable[[], object], rate_per_s: float, queries: int, bound_ms: float,
           seed: int = 0, clock=time.perf_counter, sleep=time.sleep, spin_s: float = SPIN_S) -> dict:
    """One issuing thread: a query that arrives while the model is busy waits in the queue."""
    arrivals = poisson_arrivals(rate_per_s, queries, seed)
    ms = np.empty(queries)
    start = clock()
    for i, offset in enumerate(arrivals):
        due = start + offset
        now = clock()
        if due - now > spin_s:
            sleep(due - now - spin_s)
        while clock() < due:
            pass
        infer()
        ms[i] = (clock() - due) * 1000
    elapsed = clock() - start
    lat = summarize(ms)
    return {"scenario": "server", "metric": "p99_ms", "value": lat["p99_ms"], "latency": lat,
            "target_qps": rate_per_s, "achieved_qps": queries / elapsed if elapsed > 0 else float("inf"),
            "bound_ms": bound_ms, "passed": bool(lat["p99_ms"] <= bound_ms),
            "enough_queries": queries >= MIN_QUERIES_FOR_P99, "seed": seed}


def offline(infer_batch: Callable[[], object], samples: int, batch: int, clock=time.perf_counter) -> dict:
    """Issue ceil(samples / batch) batches back to back; throughput counts the samples really run."""
    batches = -(-samples // batch)
    ms = np.empty(batches)
    start = clock()
    for i in range(batches):
        t0 = clock()
        infer_batch()
        ms[i] = (clock() - t0) * 1000
    elapsed = clock() - start
    done = batches * batch
    return {"scenario": "offline", "metric": "samples_per_s", "value": done / elapsed if elapsed > 0 else
            float("inf"), "samples": done, "batch": batch, "batch_latency": summarize(ms)}
