"""The one module that talks to ONNX Runtime.

``Engine(path, config)`` builds a session on the first usable provider of an
ordered preference list, checks which providers the session really got (ONNX
Runtime only warns when one fails to initialise), warms it up, and exposes
``run(feeds) -> dict``, the input/output specs, the contract and the provider.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

# The [engine] config section lives in a light module (no onnxruntime); re-exported here.
from pipeline.config.engine import (MAX_THREADS, MAX_WARMUP_RUNS, PROVIDERS, SHORT_NAMES,  # noqa: F401
                                    CpuOptions, CudaOptions, EngineConfig, OpenvinoOptions, TensorrtOptions)
from pipeline.contract import CONTRACT_KEY, ModelContract, parse_contract
from pipeline.errors import ConfigError, InputError, ModelError, ProviderUnavailable

log = logging.getLogger("perceive.engine")

# Synthetic inputs (bench --size, warm-up): 2**26 elements is 256 MiB of float32 per input.
MAX_EXAMPLE_ELEMENTS = 2**26
ONNX_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
}
_OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def available_providers() -> list[str]:
    """Short names of the providers this onnxruntime build has (tests replace this)."""
    return [SHORT_NAMES.get(p, p) for p in ort.get_available_providers()]


def runtime_version() -> str:
    return ort.__version__


def _provider_options(name: str, cfg: EngineConfig) -> dict:
    if name == "tensorrt":
        t = cfg.tensorrt
        cache = os.path.expanduser(t.engine_cache_dir)
        return {"trt_fp16_enable": t.fp16, "trt_int8_enable": t.int8, "trt_engine_cache_enable": True,
                "trt_engine_cache_path": cache, "trt_max_workspace_size": t.workspace_mb << 20}
    if name in ("cuda", "rocm", "migraphx"):
        return {"device_id": cfg.cuda.device_id}
    if name == "openvino":
        return {"device_type": cfg.openvino.device_type}
    return {}


def plan_providers(cfg: EngineConfig, available: list[str]) -> list[str]:
    """The providers to request, in order. Strict mode refuses a missing one by name."""
    chosen = []
    for name in cfg.providers:
        if name in available:
            chosen.append(name)
        elif cfg.strict:
            raise ProviderUnavailable(
                f"provider '{name}' unavailable: onnxruntime {runtime_version()} here has only "
                f"[{', '.join(available)}] (strict mode; for cuda/tensorrt install perceive[gpu] "
                "with a matching CUDA, or drop 'strict')")
        else:
            log.warning("provider '%s' unavailable (have %s); trying the next preference", name, available)
    if not chosen:
        if cfg.strict:
            raise ProviderUnavailable(f"none of {cfg.providers} is available (have {available})")
        log.warning("none of %s is available; falling back to cpu", cfg.providers)
        chosen = ["cpu"]
    return chosen


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple  # ints for fixed axes, strings (or None) for dynamic ones
    dtype: type

    def describe(self) -> str:
        dims = ",".join(str(d) if d is not None else "?" for d in self.shape)
        return f"{self.name}: {np.dtype(self.dtype).name}[{dims}]"


class Engine:
    """An ONNX Runtime session on the best available provider, warmed up."""

    def __init__(self, model_path: str | Path, config: EngineConfig | None = None, *,
                 require_contract: bool = True, warmup: bool = True):
        self.path = Path(model_path)
        self.config = config or EngineConfig()
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        problem = self.config.check()  # a config built in code (bench, models, demo) skipped the loader's check
        if problem:
            raise ConfigError(f"engine {problem}")
        requested = plan_providers(self.config, available_providers())
        self.session, self.load_ms = self._create_session(requested)
        self.providers = [SHORT_NAMES.get(p, p) for p in self.session.get_providers()]
        self.provider = self.providers[0]
        self._check_providers(requested)
        self.inputs = [TensorSpec(i.name, tuple(i.shape), ONNX_DTYPES.get(i.type, np.float32))
                       for i in self.session.get_inputs()]
        self.outputs = [TensorSpec(o.name, tuple(o.shape), ONNX_DTYPES.get(o.type, np.float32))
                        for o in self.session.get_outputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.contract: ModelContract | None = None
        if CONTRACT_KEY in self.metadata or require_contract:
            self.contract = parse_contract(self.metadata, str(self.path))
            self.contract.check_graph(self.inputs, self.outputs, str(self.path))
        log.info("model %s runs on %s (session providers %s, load %.0f ms)",
                 self.path.name, self.provider, self.providers, self.load_ms)
        self.first_run_ms = None
        if warmup and self.config.warmup_runs:
            self.warmup(self.config.warmup_runs)

    def _create_session(self, requested: list[str]):
        so = ort.SessionOptions()
        so.graph_optimization_level = _OPT_LEVELS[self.config.graph_optimization]
        so.intra_op_num_threads = self.config.cpu.intra_op_threads
        so.inter_op_num_threads = self.config.cpu.inter_op_threads
        so.log_severity_level = 3  # our own log says which provider runs; ORT's warnings repeat it
        if self.config.profiling:
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(self.config.profile_dir) / self.path.stem)
        providers = [(PROVIDERS[n], _provider_options(n, self.config)) for n in requested]
        if "tensorrt" in requested:
            Path(os.path.expanduser(self.config.tensorrt.engine_cache_dir)).mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            session = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
        except Exception as exc:  # ORT raises its own types (Fail, InvalidProtobuf, ...)
            raise ModelError(f"cannot load model {self.path}: {exc}") from exc
        return session, (time.perf_counter() - start) * 1000

    def _check_providers(self, requested: list[str]) -> None:
        missing = [n for n in requested if n not in self.providers]
        if not missing:
            return
        msg = (f"model {self.path.name}: provider(s) {missing} failed to initialise; "
               f"session runs on {self.providers}")
        if self.config.strict:
            raise ProviderUnavailable(msg + " (strict mode)")
        log.warning(msg)

    def check_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        """Name, dtype and rank/fixed-axis checks, so a bad tensor fails with a clear message."""
        names = {i.name for i in self.inputs}
        if set(feeds) != names:
            raise InputError(f"model {self.path.name} expects inputs {sorted(names)}, got {sorted(feeds)}")
        for spec in self.inputs:
            arr = feeds[spec.name]
            if not isinstance(arr, np.ndarray) or arr.dtype != spec.dtype:
                got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
                raise InputError(f"input {spec.describe()} of {self.path.name}: got dtype {got}")
            fixed_ok = all(not isinstance(d, int) or d == a for d, a in zip(spec.shape, arr.shape))
            if arr.ndim != len(spec.shape) or not fixed_ok:
                raise InputError(f"input {spec.describe()} of {self.path.name}: got shape {arr.shape}")

    def run(self, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        self.check_feeds(feeds)
        names = outputs or [o.name for o in self.outputs]
        return dict(zip(names, self.session.run(names, feeds)))

    def example_feeds(self, sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Random inputs shaped by the contract's example shapes, else the graph's fixed axes.

        Dynamic axes take ``sizes[axis_name]`` when given, else the contract's
        example, else 1.
        """
        rng = np.random.default_rng(seed)
        examples = self.contract.example_shapes() if self.contract else {}
        feeds = {}
        for spec in self.inputs:
            shape = examples.get(spec.name) or spec.shape
            dims = []
            for graph_dim, dim in zip(spec.shape, shape):
                if isinstance(graph_dim, str) and sizes and graph_dim in sizes:
                    dims.append(sizes[graph_dim])
                else:
                    dims.append(dim if isinstance(dim, int) and dim > 0 else 1)
            if math.prod(dims) > MAX_EXAMPLE_ELEMENTS:
                raise InputError(f"input {spec.describe()} of {self.path.name}: shape {dims} has "
                                 f"{math.prod(dims):,} elements, over the limit of {MAX_EXAMPLE_ELEMENTS:,}")
            if np.issubdtype(spec.dtype, np.floating):
                feeds[spec.name] = rng.standard_normal(dims).astype(spec.dtype)
            else:
                feeds[spec.name] = np.zeros(dims, dtype=spec.dtype)
        return feeds

    def warmup(self, runs: int) -> None:
        feeds = self.example_feeds()
        for i in range(runs):
            start = time.perf_counter()
            self.run(feeds)
            if i == 0:
                self.first_run_ms = (time.perf_counter() - start) * 1000

    def end_profiling(self) -> str | None:
        return self.session.end_profiling() if self.config.profiling else None
