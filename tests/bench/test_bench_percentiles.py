"""percentiles: the one percentile summary, shared by the benchmark's summarize and export's cards."""
import numpy as np
import pytest

from pipeline.bench.stats import percentiles, summarize

SAMPLES = [float(v) for v in range(1, 101)]  # 1..100 ms


def test_default_keys_are_p50_p90_p99_by_linear_interpolation():
    assert percentiles(SAMPLES) == pytest.approx({"p50_ms": 50.5, "p90_ms": 90.1, "p99_ms": 99.01})
    assert list(percentiles(SAMPLES)) == ["p50_ms", "p90_ms", "p99_ms"]


def test_chosen_keys_only_and_same_figures_as_summarize():
    assert percentiles(SAMPLES, ("p50_ms", "p90_ms")) == {"p50_ms": 50.5, "p90_ms": pytest.approx(90.1)}
    summary = summarize(SAMPLES)
    assert {k: summary[k] for k in ("p50_ms", "p90_ms", "p99_ms", "p99_9_ms")} == \
        percentiles(SAMPLES, ("p50_ms", "p90_ms", "p99_ms", "p99_9_ms"))


def test_equals_numpy_median_for_p50():
    rng = np.random.default_rng(0)
    v = rng.exponential(3.0, 257)
    assert percentiles(v, ("p50_ms",))["p50_ms"] == pytest.approx(float(np.median(v)), rel=1e-12)


def test_unknown_key_is_a_key_error():
    with pytest.raises(KeyError):
        percentiles(SAMPLES, ("p42_ms",))
