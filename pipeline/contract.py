"""The model contract: what a model needs from the runtime, stored in the ONNX file.

Export writes it (as JSON under the metadata key ``perceive.contract``); the
engine reads and validates it, and every stage checks it against its config.
The same typed loader as the config rejects unknown or mistyped fields by name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.config.loader import build, option, to_dict
from pipeline.errors import ConfigError, ContractError

CONTRACT_KEY = "perceive.contract"
SCHEMA_VERSION = 1

# Which optional sections each task needs; a task not listed needs none. One line per skill's task, kept
# here rather than in the skill's folder: every model load checks it (perceive models, export) before any
# skill module is imported, and the contract importing the skills would point upward (pipeline/README.md).
TASK_SECTIONS: dict[str, tuple[str, ...]] = {
    "face_detect": ("image",),
    "face_embed": ("image",),
    "face_liveness": ("image", "labels"),
    "ocr_det": ("image",),
    "ocr_rec": ("image", "alphabet"),
    "kws": ("audio", "labels"),
    "kws_frontend": ("audio",),   # a keyword model's feature graphs (speech_embedding), named by its contract
    "har": ("sensor", "labels"),
    "anomaly": ("sensor",),
}


@dataclass
class TensorContract:
    name: str = option(doc="Graph input/output name.")
    shape: list[int | str] = option(doc="Axes: ints are fixed, strings name dynamic axes.")
    dtype: str = option("float32", "numpy dtype name.")
    layout: str = option("", "Axis meaning, e.g. NCHW, NTC (batch, time, channels).")
    example: list[int] = option(factory=list, doc="A concrete shape for warm-up and benchmarks.")


@dataclass
class ImageSpec:
    color: Literal["RGB", "BGR", "GRAY"] = option(doc="Channel order the model expects.")
    layout: Literal["NCHW", "NHWC"] = option("NCHW", "Tensor layout.")
    scale: float = option(1 / 255, "Pixels are multiplied by this before mean/std.")
    mean: list[float] = option(factory=lambda: [0.0], doc="Subtracted per channel after scaling.")
    std: list[float] = option(factory=lambda: [1.0], doc="Divided per channel after the mean.")
    height: int = option(0, "Input height in pixels; 0 when dynamic.")
    width: int = option(0, "Input width in pixels; 0 when dynamic.")
    resize: Literal["stretch", "letterbox", "keep_height", "none"] = option(
        "stretch", "How a frame is brought to the input size.")


@dataclass
class AudioSpec:
    sample_rate: int = option(doc="Samples per second of the input audio.")
    window_ms: float = option(doc="Feature window length.")
    hop_ms: float = option(doc="Feature hop length.")
    n_mels: int = option(doc="Mel bins.")
    n_fft: int = option(doc="FFT size.")
    fmin: float = option(0.0, "Lowest mel frequency, Hz.")
    fmax: float = option(0.0, "Highest mel frequency, Hz; 0 means sample_rate / 2.")
    feature: str = option("log-mel", "Feature type.")


@dataclass
class SensorSpec:
    channels: list[str] = option(doc="Channel names, in the order the model reads them.")
    sample_rate_hz: float = option(doc="Sampling rate the model was trained at.")
    window: int = option(doc="Samples per window.")
    hop: int = option(doc="Samples between windows in streaming use.")
    mean: list[float] = option(factory=list, doc="Per-channel normalisation mean.")
    std: list[float] = option(factory=list, doc="Per-channel normalisation std.")


@dataclass
class Quantization:
    scheme: Literal["none", "int8-static-qdq", "int8-dynamic", "fp16"] = option(doc="Weights/activations format.")
    calibration: str = option("", "Data used to calibrate static quantization.")
    fp32_twin: str = option("", "File name of the fp32 model this was quantized from.")


@dataclass
class Provenance:
    weights: str = option(doc="Where the weights come from: 'trained by perceive' or the converted source.")
    licence: str = option(doc="Licence of the weights.")
    data: str = option(doc="Training data and its licence.")
    command: str = option(doc="The command that rebuilds this file.")


@dataclass
class ModelContract:
    schema: int = option(doc="Contract schema version.")
    task: str = option(doc="What the model does, e.g. kws, ocr_rec, face_detect.")
    name: str = option(doc="Model name.")
    version: str = option(doc="Model version.")
    inputs: list[TensorContract] = option(doc="Graph inputs.")
    outputs: list[TensorContract] = option(doc="Graph outputs.")
    quantization: Quantization = option(doc="Quantization scheme.")
    provenance: Provenance = option(doc="Origin and licence.")
    labels: list[str] = option(factory=list, doc="Class labels, index order.")
    alphabet: str = option("", "Recogniser characters; CTC blank is index 0, alphabet[i] is class i+1.")
    image: ImageSpec | None = option(None, "Image preprocessing.")
    audio: AudioSpec | None = option(None, "Audio feature parameters.")
    sensor: SensorSpec | None = option(None, "Sensor channels and normalisation.")
    state: dict[str, str] = option(factory=dict, doc="Streaming: recurrent-state input -> matching output.")
    metrics: dict[str, Any] = option(factory=dict, doc="Evaluation figures and the data they were measured on.")
    params: dict[str, Any] = option(factory=dict, doc="Task-specific parameters (thresholds, strides, ...).")

    def check(self) -> str | None:
        if self.schema != SCHEMA_VERSION:
            return f"schema: version {self.schema} is not supported (this runtime reads {SCHEMA_VERSION})"
        for section in TASK_SECTIONS.get(self.task, ()):
            if not getattr(self, section):
                return f"{section}: required for task '{self.task}'"
        names = {t.name for t in self.inputs}
        for state_in, state_out in self.state.items():
            if state_in not in names or state_out not in {t.name for t in self.outputs}:
                return f"state: '{state_in}' -> '{state_out}' must name an input and an output"
        return None

    def example_shapes(self) -> dict[str, list[int]]:
        return {t.name: t.example for t in self.inputs if t.example}

    def check_graph(self, inputs: list, outputs: list, where: str) -> None:
        """The contract's tensors must be the graph's: same names, dtypes and fixed axes."""
        for side, declared, actual in (("inputs", self.inputs, inputs), ("outputs", self.outputs, outputs)):
            graph = {t.name: t for t in actual}
            if sorted(graph) != sorted(t.name for t in declared):
                raise ContractError(f"{where}: contract {side} {[t.name for t in declared]} "
                                    f"do not match the graph's {sorted(graph)}")
            for t in declared:
                g = graph[t.name]
                if len(g.shape) != len(t.shape):
                    raise ContractError(f"{where}: contract {side} '{t.name}' has rank {len(t.shape)}, "
                                        f"the graph has {len(g.shape)}")
                for axis, (c, gd) in enumerate(zip(t.shape, g.shape)):
                    if isinstance(c, int) and isinstance(gd, int) and c != gd:
                        raise ContractError(f"{where}: contract {side} '{t.name}' axis {axis} is {c}, "
                                            f"the graph has {gd}")

    def expect(self, field: str, wanted: Any, config_key: str) -> None:
        """Refuse the model when contract ``field`` (dotted) differs from the config's value."""
        value: Any = self
        for part in field.split("."):
            value = getattr(value, part, None) if not isinstance(value, dict) else value.get(part)
        if value != wanted:
            raise ContractError(f"model '{self.name}': contract {field} = {value!r} but config "
                                f"{config_key} = {wanted!r}")

    def to_metadata(self) -> dict[str, str]:
        return {CONTRACT_KEY: json.dumps(to_dict(self), sort_keys=True)}


def make_contract(data: dict[str, Any], where: str = "contract") -> ModelContract:
    """Build and validate a contract from a plain dict (export uses this)."""
    try:
        return build(ModelContract, {"schema": SCHEMA_VERSION, **data}, "")
    except ConfigError as exc:
        raise ContractError(f"{where}: invalid contract field {exc}") from exc


def parse_contract(metadata: dict[str, str], where: str) -> ModelContract:
    if CONTRACT_KEY not in metadata:
        raise ContractError(f"{where}: no model contract (metadata key '{CONTRACT_KEY}' is missing); "
                            "perceive only runs models exported by `perceive export`")
    try:
        data = json.loads(metadata[CONTRACT_KEY])
    except json.JSONDecodeError as exc:
        raise ContractError(f"{where}: contract is not valid JSON: {exc}") from exc
    try:
        return build(ModelContract, data, "")
    except ConfigError as exc:
        raise ContractError(f"{where}: invalid contract field {exc}") from exc
