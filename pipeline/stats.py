"""Latency statistics over a bounded window, with counters that never reset silently."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

PERCENTILES = (50, 90, 99)


@dataclass
class LatencySummary:
    count: int
    misses: int
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    budget_ms: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class LatencyStats:
    """Records durations into a fixed ring (no per-sample allocation) and counts budget misses.

    Percentiles cover the last ``window`` samples; ``count`` and ``misses`` cover all.
    """

    def __init__(self, budget_ms: float | None = None, window: int = 4096):
        self.budget_ms = budget_ms
        self._ring = np.zeros(window, dtype=np.float64)
        self._n = 0
        self.misses = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._n

    def add(self, ms: float) -> bool:
        """Record one duration; return True when it missed the budget."""
        missed = self.budget_ms is not None and ms > self.budget_ms
        with self._lock:
            self._ring[self._n % len(self._ring)] = ms
            self._n += 1
            self.misses += missed
        return missed

    def values(self) -> np.ndarray:
        with self._lock:
            return self._ring[: min(self._n, len(self._ring))].copy()

    def summary(self) -> LatencySummary:
        v = self.values()
        if v.size == 0:
            nan = float("nan")
            return LatencySummary(0, 0, nan, nan, nan, nan, nan, nan, self.budget_ms)
        p50, p90, p99 = np.percentile(v, PERCENTILES)
        return LatencySummary(self._n, self.misses, float(v.min()), float(v.mean()), float(p50),
                              float(p90), float(p99), float(v.max()), self.budget_ms)
