"""`perceive bench model`: latency of one model with a printed protocol."""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from pipeline.engine import CpuOptions, Engine, EngineConfig, runtime_version
from pipeline.sysinfo import machine

PERCENTILES = (50, 90, 99)


def latency_summary(ms: np.ndarray, items_per_run: int = 1) -> dict:
    p = np.percentile(ms, PERCENTILES)
    return {"min_ms": float(ms.min()), "p50_ms": float(p[0]), "p90_ms": float(p[1]),
            "p99_ms": float(p[2]), "mean_ms": float(ms.mean()), "max_ms": float(ms.max()),
            "throughput_per_s": float(items_per_run * 1000.0 / ms.mean())}


def bench_model(path: str, providers: list[str], threads: int, runs: int, warmup: int,
                strict: bool = False, sizes: dict[str, int] | None = None) -> dict:
    config = EngineConfig(providers=providers, strict=strict, warmup_runs=0,
                          cpu=replace(CpuOptions(), intra_op_threads=threads))
    engine = Engine(path, config, warmup=False)
    feeds = engine.example_feeds(sizes)
    start = time.perf_counter()
    engine.run(feeds)
    first_ms = (time.perf_counter() - start) * 1000
    for _ in range(warmup):
        engine.run(feeds)
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        engine.run(feeds)
        times[i] = (time.perf_counter() - start) * 1000
    batch = next(iter(feeds.values())).shape[0] if feeds else 1
    contract = engine.contract
    return {
        "model": str(path),
        "task": contract.task if contract else None,
        "quantization": contract.quantization.scheme if contract else None,
        "protocol": {"provider": engine.provider, "session_providers": engine.providers,
                     "requested_providers": providers, "threads": threads, "runs": runs,
                     "warmup": warmup, "inputs": {k: list(v.shape) for k, v in feeds.items()},
                     "onnxruntime": runtime_version()},
        "machine": machine(),
        "session_ms": engine.load_ms,
        "first_run_ms": first_ms,
        "latency": latency_summary(times, batch),
    }


def format_result(r: dict) -> str:
    p, lat, m = r["protocol"], r["latency"], r["machine"]
    lines = [
        f"model      {r['model']}  ({r['task']}, {r['quantization']})",
        f"protocol   provider={p['provider']} threads={p['threads'] or 'ort-default'} "
        f"warmup={p['warmup']} runs={p['runs']} inputs={p['inputs']} onnxruntime={p['onnxruntime']}",
        f"machine    {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB)",
        f"session    create {r['session_ms']:.1f} ms, first inference {r['first_run_ms']:.2f} ms",
        "latency    min {min_ms:.3f}  p50 {p50_ms:.3f}  p90 {p90_ms:.3f}  p99 {p99_ms:.3f}  "
        "mean {mean_ms:.3f} ms   throughput {throughput_per_s:.1f}/s".format(**lat),
    ]
    return "\n".join(lines)
