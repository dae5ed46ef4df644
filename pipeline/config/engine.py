"""The `[engine]` section of the config tree: providers and their options, without ONNX Runtime.

``pipeline.engine`` (the one module that imports onnxruntime) builds sessions from it and re-exports
these names; the config tree reads them from here so that loading a config loads no runtime library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.config.loader import option

# Short names users write in configs -> ONNX Runtime provider names.
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "acl": "ACLExecutionProvider",
    "armnn": "ArmNNExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
SHORT_NAMES = {v: k for k, v in PROVIDERS.items()}
# More threads than any edge device has cores; 99999 made ONNX Runtime spend minutes creating threads.
MAX_THREADS = 256
MAX_WARMUP_RUNS = 10_000  # a start-up cost: more only delays the first frame


@dataclass
class CpuOptions:
    intra_op_threads: int = option(0, "Threads inside one operator; 0 lets ONNX Runtime choose (all cores).",
                                   at_least=0, at_most=MAX_THREADS)
    inter_op_threads: int = option(1, "Threads running independent operators in parallel.",
                                   at_least=0, at_most=MAX_THREADS)


@dataclass
class CudaOptions:
    device_id: int = option(0, "CUDA device index.")


@dataclass
class TensorrtOptions:
    fp16: bool = option(True, "Let TensorRT build fp16 kernels.")
    int8: bool = option(False, "Let TensorRT build int8 kernels (needs a QDQ model or a calibration table).")
    engine_cache_dir: str = option("~/.cache/perceive/tensorrt",
                                   "Where built TensorRT engines are cached, so only the first start pays the build.")
    workspace_mb: int = option(1024, "TensorRT builder workspace in MiB.")


@dataclass
class OpenvinoOptions:
    device_type: str = option("CPU", "OpenVINO device, for example CPU, GPU or NPU.")


@dataclass
class EngineConfig:
    providers: list[str] = option(factory=lambda: ["cpu"], doc=(
        "Execution providers in order of preference, e.g. [\"tensorrt\", \"cuda\", \"cpu\"]. "
        f"Known: {', '.join(PROVIDERS)}."))
    strict: bool = option(False, "Fail when a listed provider cannot run, instead of falling back to the next.")
    graph_optimization: Literal["disable", "basic", "extended", "all"] = option(
        "all", "ONNX Runtime graph optimisation level.")
    profiling: bool = option(False, "Write an ONNX Runtime profile (JSON trace) per session.")
    profile_dir: str = option(".", "Directory for profiles when profiling is on.")
    warmup_runs: int = option(2, "Inferences run at construction so the first real frame is not slow.",
                              at_least=0, at_most=MAX_WARMUP_RUNS)
    cpu: CpuOptions = option(factory=CpuOptions, doc="CPU provider options.")
    cuda: CudaOptions = option(factory=CudaOptions, doc="CUDA provider options.")
    tensorrt: TensorrtOptions = option(factory=TensorrtOptions, doc="TensorRT provider options.")
    openvino: OpenvinoOptions = option(factory=OpenvinoOptions, doc="OpenVINO provider options.")

    def check(self) -> str | None:
        if not self.providers:
            return "providers: list at least one provider"
        for name in self.providers:
            if name not in PROVIDERS:
                return f"providers: unknown provider '{name}' (known: {', '.join(PROVIDERS)})"
        if self.warmup_runs < 0:
            return "warmup_runs: must be >= 0"
        return None
