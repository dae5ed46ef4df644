"""Streaming anomaly detection with a stateful LSTM forecaster: each hop costs its new samples only."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError, InputError


@dataclass
class AnomalyResult:
    scores: np.ndarray      # one score per new sample (normalised forecast error, smoothed)
    flags: np.ndarray       # scores above the calibrated threshold
    t_end: float
    onset: bool = False     # a new anomaly started in this block
    elapsed_ms: float = 0.0


@dataclass
class AnomalyDetector:
    """Holds the LSTM state, the last level and the smoothing window between calls."""

    engine: Engine
    threshold_scale: float = 1.0   # >1 makes it less sensitive than calibrated
    _state: dict = field(init=False, repr=False)
    _last: float | None = field(init=False, default=None)
    _prev_pred: float | None = field(init=False, default=None)
    _recent: deque = field(init=False, repr=False)
    _in_anomaly: bool = field(init=False, default=False)

    def __post_init__(self):
        c = self.engine.contract
        if c is None or c.task != "anomaly" or c.sensor is None or not c.state:
            raise ContractError(f"{self.engine.path.name}: not a streaming anomaly model "
                                "(task 'anomaly' with sensor and state sections)")
        p = c.params
        missing = [k for k in ("error_scale", "threshold", "smooth", "difference", "mean", "std") if k not in p]
        if missing:
            raise ContractError(f"{self.engine.path.name}: contract params lack {missing}")
        self.p, self.spec = p, c.sensor
        self.threshold = float(p["threshold"]) * self.threshold_scale
        self._x = next(t.name for t in c.inputs if t.name not in c.state)
        self._out = next(t.name for t in c.outputs if t.name not in c.state.values())
        self._state_pairs = dict(c.state)
        self._state_shapes = {t.name: [d if isinstance(d, int) else 1 for d in t.shape] for t in c.inputs
                              if t.name in c.state}
        self.reset()

    def reset(self) -> None:
        self._state = {name: np.zeros(shape, np.float32) for name, shape in self._state_shapes.items()}
        self._last, self._prev_pred = None, None
        self._recent = deque(maxlen=int(self.p["smooth"]))
        self._in_anomaly = False

    def push(self, values: np.ndarray, t_end: float = 0.0) -> AnomalyResult:
        start = time.perf_counter()
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if not np.isfinite(values).all():
            raise InputError("anomaly detector: NaN or infinite sample")
        prev = self._last if self._last is not None else values[0]
        inputs = np.diff(values, prepend=prev) if self.p["difference"] else values
        x = ((inputs - self.p["mean"]) / self.p["std"]).astype(np.float32)[None, :, None]
        out = self.engine.run({self._x: x, **self._state})
        self._state = {k: out[v] for k, v in self._state_pairs.items()}
        pred = out[self._out][0, :, 0] * self.p["std"] + self.p["mean"]
        levels = values[:-1] + pred[:-1] if self.p["difference"] else pred[:-1]
        # forecast for each sample: the previous call's last forecast, then this call's
        forecasts = np.concatenate([[self._prev_pred if self._prev_pred is not None else values[0]], levels])
        self._prev_pred = float(values[-1] + pred[-1] if self.p["difference"] else pred[-1])
        self._last = float(values[-1])
        scores = np.empty(len(values))
        for i, err in enumerate(np.abs(values - forecasts) / self.p["error_scale"]):
            self._recent.append(err)
            scores[i] = sum(self._recent) / self._recent.maxlen  # causal mean, as in training
        flags = scores > self.threshold
        onset = bool(flags.any() and not self._in_anomaly)
        self._in_anomaly = bool(flags[-1]) if len(flags) else self._in_anomaly
        return AnomalyResult(scores, flags, t_end, onset, (time.perf_counter() - start) * 1000)
