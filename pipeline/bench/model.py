"""`perceive bench model`: several models and variants timed side by side, interleaved.

A variant is one (model file, provider preference, thread count, input shape or
sample file). All variants are loaded first (session creation and first
inference timed one by one), warmed up, then timed round-robin within their
group (the variants of one model on one input): run i of every variant happens
before run i+1 of any, so machine drift (other processes, thermal state) hits
them alike and the printed ratios are fair. Groups run one after another. Server and
offline scenarios run after, one variant at a time, because they are paced.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.bench import scenarios
from pipeline.bench.flops import cpu_peak, estimate_flops
from pipeline.bench.inputs import batch_axis, dynamic_axes, load_sample, repeat_batch
from pipeline.bench.progress import Progress
from pipeline.bench.stats import ratio, summarize
from pipeline.engine import CpuOptions, Engine, EngineConfig
from pipeline.errors import InputError, PerceiveError, ProviderUnavailable

BYTES_PER_MIB = 2**20
GIGA = 1e9
SAMPLE_DECIMALS = 4  # 0.1 us: below the timer's noise, keeps the JSON small


@dataclass
class Protocol:
    runs: int = 200
    warmup: int = 20
    strict: bool = False
    seed: int = 0
    scenarios: tuple[str, ...] = ("single_stream",)
    server_rate: float = 0.0        # queries/s; 0 = half of the single-stream throughput
    server_queries: int = 500
    server_bound_ms: float = 0.0    # 0 = twice the single-stream p90
    offline_samples: int = 256
    offline_batch: int = 8
    interleave: str = "group"       # "group": variants of one model together; "all": every variant

    def as_dict(self) -> dict:
        return {**self.__dict__, "scenarios": list(self.scenarios), "interleaved": True,
                "timer": "time.perf_counter around Engine.run (includes the input checks every stage pays)",
                "graph_optimization": "all", "inter_op_threads": CpuOptions().inter_op_threads}


@dataclass
class Variant:
    path: Path
    providers: list[str]
    threads: int
    sizes: dict[str, int] = field(default_factory=dict)
    sample: str | None = None


def plan_variants(paths: list[Path], provider_specs: list[list[str]], threads: list[int],
                  size_combos: list[dict[str, int]], samples: list[str]) -> list[Variant]:
    """The cross product, model-major so each model's variants sit together in the table."""
    inputs = [(s, None) for s in size_combos] if not samples else [({}, f) for f in samples]
    return [Variant(p, prov, t, sizes, sample) for p in paths for prov in provider_specs
            for t in threads for sizes, sample in inputs]


def rss_mib() -> tuple[float | None, float | None]:
    """(current, peak) resident set size of this process from /proc (None elsewhere)."""
    values = {}
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line[:5]] = int(line.split()[1]) / 1024
    except OSError:
        return None, None
    return values.get("VmRSS"), values.get("VmHWM")


def _load(v: Variant, protocol: Protocol) -> tuple[Engine, dict, dict]:
    config = EngineConfig(providers=v.providers, strict=protocol.strict, warmup_runs=0,
                          cpu=replace(CpuOptions(), intra_op_threads=v.threads))
    rss_before, _ = rss_mib()
    engine = Engine(v.path, config, warmup=False)
    unknown = set(v.sizes) - dynamic_axes(engine)
    if unknown:
        raise InputError(f"{v.path.name}: --size axis {sorted(unknown)} is not a dynamic axis of the model "
                         f"(dynamic axes: {sorted(dynamic_axes(engine)) or 'none'})")
    feeds = load_sample(engine, v.sample) if v.sample else engine.example_feeds(v.sizes, seed=protocol.seed)
    start = time.perf_counter()
    engine.run(feeds)
    first_ms = (time.perf_counter() - start) * 1000
    rss_after, _ = rss_mib()
    c = engine.contract
    row = {
        "name": c.name if c else v.path.stem, "task": c.task if c else None,
        "quantization": c.quantization.scheme if c else None,
        "size_bytes": v.path.stat().st_size,
        "provider": engine.provider, "session_providers": engine.providers,
        "fallback": engine.provider not in v.providers,
        "inputs": {k: list(a.shape) for k, a in feeds.items()},
        "input_source": f"file:{v.sample}" if v.sample else "synthetic",
        "session_ms": engine.load_ms, "first_run_ms": first_ms,
        "rss_delta_mib": (rss_after - rss_before) if rss_before is not None else None,
    }
    return engine, feeds, row


def _empty_row(v: Variant) -> dict:
    return {"label": label(v), "model": str(v.path), "requested_providers": v.providers,
            "threads": v.threads, "sizes": v.sizes, "sample": v.sample, "error": None,
            "name": v.path.stem, "task": None, "quantization": None, "size_bytes": None,
            "provider": None, "session_providers": [], "fallback": False, "inputs": {},
            "input_source": None, "session_ms": None, "first_run_ms": None, "rss_delta_mib": None,
            "latency": summarize([]), "flops": None, "flops_note": "", "gflops_per_s": None,
            "peak_gflops": None, "peak_basis": "", "peak_fraction": None,
            "baseline": None, "ratio_p50": None, "ratio_mean": None, "scenarios": {}, "samples_ms": [],
            "items_per_run": 1}


def label(v: Variant) -> str:
    parts = [v.path.name, ">".join(v.providers), f"t{v.threads}"]
    parts += [f"{k}={n}" for k, n in v.sizes.items()]
    if v.sample:
        parts.append(Path(v.sample).name)
    return " ".join(parts)


def _interleaved(engines: list[tuple[Engine, dict]], protocol: Protocol, title: str) -> list[np.ndarray]:
    for engine, feeds in engines:
        for _ in range(protocol.warmup):
            engine.run(feeds)
    times = [np.empty(protocol.runs) for _ in engines]
    with Progress(protocol.runs, title) as bar:
        for i in range(protocol.runs):
            for t, (engine, feeds) in zip(times, engines):
                start = time.perf_counter()
                engine.run(feeds)
                t[i] = (time.perf_counter() - start) * 1000
            bar.update()
    return times


def items_per_run(engine: Engine, feeds: dict) -> int:
    """Axis 0 of the inputs when it is a batch (named so, or N in the contract layout), else 1:
    a sequence-first recurrent input does not count its time steps as items."""
    axis = batch_axis(engine)
    layouts = {t.layout[:1] for t in engine.contract.inputs} if engine.contract else set()
    if (axis and "batch" in axis.lower()) or layouts == {"N"}:
        return int(next(iter(feeds.values())).shape[0])
    return 1


def group_key(row: dict) -> tuple:
    """Variants compared with each other: the same model (contract name) on the same input."""
    return row["name"], str(row["sizes"]), row["sample"]


def _timed_groups(loaded: list[tuple[dict, Engine, dict]], protocol: Protocol) -> list[np.ndarray]:
    """Interleave within each group (or across everything with interleave='all'); groups run one
    after another so a large model does not evict a small one's caches between its runs."""
    if protocol.interleave == "all":
        return _interleaved([(e, f) for _, e, f in loaded], protocol, "timing")
    groups: dict[tuple, list[int]] = {}
    for i, (row, _, _) in enumerate(loaded):
        groups.setdefault(group_key(row), []).append(i)
    times: list = [None] * len(loaded)
    for key, members in groups.items():
        got = _interleaved([loaded[i][1:] for i in members], protocol, f"timing {key[0]}")
        for i, t in zip(members, got):
            times[i] = t
    return times


def _throughput_fields(row: dict) -> None:
    lat = row["latency"]
    if row["flops"] and np.isfinite(lat["p50_ms"]) and lat["p50_ms"] > 0:
        row["gflops_per_s"] = row["flops"] / (lat["p50_ms"] / 1000) / GIGA
        if row["quantization"] not in ("none", None):
            row["peak_basis"] = "no peak for quantized models: the fp32 peak does not bound int8 kernels"
            return
        peak = cpu_peak(row["threads"])
        row["peak_gflops"], row["peak_basis"] = peak["peak_gflops"], peak["basis"]
        if peak["peak_gflops"]:
            row["peak_fraction"] = row["gflops_per_s"] / peak["peak_gflops"]


def _run_scenarios(engine: Engine, feeds: dict, row: dict, protocol: Protocol) -> None:
    infer = lambda: engine.run(feeds)  # noqa: E731
    if "server" in protocol.scenarios:
        lat = row["latency"]
        rate = protocol.server_rate or lat["throughput_per_s"] / 2
        bound = protocol.server_bound_ms or 2 * lat["p90_ms"]
        row["scenarios"]["server"] = scenarios.server(infer, rate, protocol.server_queries, bound, protocol.seed)
    if "offline" in protocol.scenarios:
        axis = batch_axis(engine)
        batch = protocol.offline_batch if axis else 1
        batch_feeds = repeat_batch(feeds, batch) if axis else feeds
        result = scenarios.offline(lambda: engine.run(batch_feeds), protocol.offline_samples, batch)
        result["note"] = "" if axis else "axis 0 is fixed: batch 1"
        row["scenarios"]["offline"] = result


def _ratios(rows: list[dict]) -> None:
    """Each row against its group's baseline: the same model name and input, fp32 first if present."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["error"] is None:
            groups.setdefault(group_key(row), []).append(row)
    for members in groups.values():
        base = next((r for r in members if r["quantization"] in ("none", None)), members[0])
        for r in members:
            r["baseline"] = base["label"]
            r["ratio_p50"] = ratio(r["latency"]["p50_ms"], base["latency"]["p50_ms"])
            r["ratio_mean"] = ratio(r["latency"]["mean_ms"], base["latency"]["mean_ms"])


def bench_models(variants: list[Variant], protocol: Protocol) -> list[dict]:
    """Load, time interleaved, run scenarios; a variant that cannot load keeps its error in its row."""
    rows, loaded = [], []
    for v in variants:
        row = _empty_row(v)
        rows.append(row)
        try:
            engine, feeds, info = _load(v, protocol)
        except ProviderUnavailable:
            raise  # strict mode asked for this provider: stop, do not time a substitute
        except PerceiveError as exc:
            row["error"] = str(exc)
            continue
        row.update(info)
        est = estimate_flops(v.path, row["inputs"])
        row["flops"], row["flops_note"] = est["flops"], est["note"]
        loaded.append((row, engine, feeds))
    times = _timed_groups(loaded, protocol)
    for (row, engine, feeds), t in zip(loaded, times):
        row["items_per_run"] = items_per_run(engine, feeds)
        row["latency"] = summarize(t, row["items_per_run"])
        row["samples_ms"] = [round(float(x), SAMPLE_DECIMALS) for x in t]
        _throughput_fields(row)
        _run_scenarios(engine, feeds, row, protocol)
    _ratios(rows)
    return rows
