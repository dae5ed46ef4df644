"""Percentiles and MLPerf-style scenarios on synthetic timings (a fake clock: no real time measured)."""
import math

import numpy as np
import pytest

from pipeline.bench import scenarios
from pipeline.bench.stats import ratio, summarize


class FakeClock:
    """Time advances only when the code under test sleeps or 'infers' (by a scripted service time)."""

    def __init__(self, service_s):
        self.t = 100.0
        self.service = list(service_s)
        self.calls = 0

    def clock(self):
        return self.t

    def sleep(self, s):
        assert s >= 0
        self.t += s

    def infer(self):
        self.t += self.service[self.calls % len(self.service)]
        self.calls += 1


def test_summary_percentiles_match_definition():
    s = summarize(np.arange(1, 101, dtype=float), items_per_run=2)
    assert (s["count"], s["min_ms"], s["max_ms"], s["mean_ms"]) == (100, 1.0, 100.0, 50.5)
    assert s["p50_ms"] == pytest.approx(50.5) and s["p90_ms"] == pytest.approx(90.1)
    assert s["p99_ms"] == pytest.approx(99.01) and s["p99_9_ms"] == pytest.approx(99.901)
    assert s["throughput_per_s"] == pytest.approx(2 * 1000 / 50.5)


def test_summary_of_nothing_is_nan_not_an_error():
    s = summarize([])
    assert s["count"] == 0 and math.isnan(s["p99_ms"])


def test_ratio_refuses_missing_or_zero_baseline():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(2.0, 0.0) is None and ratio(None, 1.0) is None and ratio(1.0, float("nan")) is None


def test_single_stream_reports_p90_of_service_times():
    fake = FakeClock([0.001 * k for k in range(1, 11)])  # 1..10 ms, repeating
    r = scenarios.single_stream(fake.infer, 100, clock=fake.clock)
    assert r["metric"] == "p90_ms" and r["value"] == pytest.approx(np.percentile(np.arange(1, 11), 90))
    assert r["latency"]["count"] == 100 and r["latency"]["min_ms"] == pytest.approx(1.0)


def test_poisson_arrivals_have_the_target_rate_and_are_reproducible():
    a = scenarios.poisson_arrivals(200.0, 20000, seed=3)
    assert np.all(np.diff(a) > 0)
    assert np.diff(a).mean() == pytest.approx(1 / 200.0, rel=0.03)
    assert np.array_equal(a, scenarios.poisson_arrivals(200.0, 20000, seed=3))
    with pytest.raises(ValueError):
        scenarios.poisson_arrivals(0.0, 10)


def test_server_with_idle_capacity_passes_with_service_time_latency():
    fake = FakeClock([0.001])  # 1 ms per query, 10 queries/s: rarely queues (gaps < 1 ms are ~1%)
    r = scenarios.server(fake.infer, 10.0, 200, bound_ms=2.0, clock=fake.clock, sleep=fake.sleep, spin_s=0)
    assert r["passed"] and r["enough_queries"]
    assert r["latency"]["min_ms"] == pytest.approx(1.0) and r["latency"]["p90_ms"] == pytest.approx(1.0)
    assert r["value"] < 2.0


def test_server_latency_includes_queueing_from_the_scheduled_arrival():
    service = 0.010  # 10 ms per query at 200 queries/s: overloaded, the queue grows
    fake = FakeClock([service])
    r = scenarios.server(fake.infer, 200.0, 150, bound_ms=20.0, seed=5, clock=fake.clock, sleep=fake.sleep,
                         spin_s=0)
    arrivals = scenarios.poisson_arrivals(200.0, 150, seed=5)
    done, expected = 0.0, []
    for t in arrivals:  # the FIFO recurrence: start = max(arrival, previous completion)
        done = max(t, done) + service
        expected.append((done - t) * 1000)
    assert r["latency"]["p99_ms"] == pytest.approx(np.percentile(expected, 99))
    assert not r["passed"] and r["achieved_qps"] < 200.0 / 1.5


def test_offline_counts_whole_batches():
    fake = FakeClock([0.004])
    r = scenarios.offline(fake.infer, samples=10, batch=4, clock=fake.clock)
    assert fake.calls == 3 and r["samples"] == 12
    assert r["value"] == pytest.approx(12 / 0.012)
