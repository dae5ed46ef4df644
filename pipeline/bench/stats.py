"""Latency summaries for benchmarks: the percentiles users compare against their budgets."""
from __future__ import annotations

import numpy as np

# Reported percentiles and the keys they get: p99.9 needs >= 1000 runs to differ from the max.
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p99_9_ms": 99.9}
SUMMARY_KEYS = ("count", "min_ms", *PERCENTILES, "mean_ms", "std_ms", "max_ms", "throughput_per_s")


def percentiles(ms, keys=("p50_ms", "p90_ms", "p99_ms")) -> dict[str, float]:
    """The named percentiles (keys of PERCENTILES) of durations in ms, e.g. {"p50_ms": ..., "p90_ms": ...}.

    The one percentile summary for benchmarks and export cards; linear interpolation as in ``summarize``.
    """
    v = np.asarray(ms, dtype=np.float64)
    return {key: float(p) for key, p in zip(keys, np.percentile(v, [PERCENTILES[key] for key in keys]))}


def summarize(ms, items_per_run: int = 1) -> dict:
    """min / p50 / p90 / p99 / p99.9 / mean / max of durations in ms, and items per second.

    Percentiles use linear interpolation between order statistics (numpy's default),
    so with fewer than 100 samples p99 lies between the two largest values.
    """
    v = np.asarray(ms, dtype=np.float64)
    if v.size == 0:
        nan = float("nan")
        return {"count": 0, **{k: nan for k in SUMMARY_KEYS[1:]}}
    mean = float(v.mean())
    return {"count": int(v.size), "min_ms": float(v.min()), **percentiles(v, tuple(PERCENTILES)),
            "mean_ms": mean, "std_ms": float(v.std()), "max_ms": float(v.max()),
            "throughput_per_s": float(items_per_run * 1000.0 / mean) if mean > 0 else float("inf")}


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, or None when either is missing or the baseline is zero."""
    if value is None or baseline is None or not np.isfinite(value) or not np.isfinite(baseline) or baseline <= 0:
        return None
    return float(value / baseline)
