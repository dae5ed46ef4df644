"""Streaming activity recognition: a window every ``hop`` samples, smoothed, events on change."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.skills.sensor.preprocess import normalize_window


@dataclass
class ActivityResult:
    label: str
    confidence: float
    probabilities: dict[str, float]
    t_end: float          # sensor time of the window's last sample
    elapsed_ms: float = 0.0
    changed: bool = False


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class ActivityRecognizer:
    """Feed samples in any block size; get a result per hop once a full window is buffered.

    Smoothing is an exponential moving average of class probabilities; the reported
    activity changes only when another class leads by ``min_confidence``.
    """

    engine: Engine
    smoothing: float = 0.5       # weight of the newest window in the moving average
    min_confidence: float = 0.6
    hop: int = 0                 # 0: the contract's hop
    _buf: np.ndarray = field(init=False, repr=False)
    _filled: int = field(init=False, default=0)
    _since_hop: int = field(init=False, default=0)
    _avg: np.ndarray | None = field(init=False, default=None)
    _current: str | None = field(init=False, default=None)

    def __post_init__(self):
        c = self.engine.contract
        if c is None or c.task != "har" or c.sensor is None:
            raise ContractError(f"{self.engine.path.name}: not an activity model (task 'har' with a sensor section)")
        self.spec, self.labels = c.sensor, c.labels
        self.hop = self.hop or self.spec.hop
        self._buf = np.zeros((self.spec.window, len(self.spec.channels)), dtype=np.float32)
        self._input = self.engine.inputs[0].name

    def classify(self, window: np.ndarray) -> np.ndarray:
        """Probabilities for one raw (window, channels) block."""
        logits = self.engine.run({self._input: normalize_window(window, self.spec)})
        return softmax(next(iter(logits.values()))[0])

    def push(self, samples: np.ndarray, times: np.ndarray | None = None) -> list[ActivityResult]:
        """``times`` (seconds, one per sample) date each result by the sample that completed it."""
        results = []
        rows = np.asarray(samples, dtype=np.float32).reshape(-1, self._buf.shape[1])
        times = np.arange(len(rows), dtype=np.float64) if times is None else np.asarray(times)
        for row, t in zip(rows, times):
            self._buf[:-1] = self._buf[1:]  # shift by one: windows are short (~100 rows)
            self._buf[-1] = row
            self._filled = min(self._filled + 1, len(self._buf))
            self._since_hop += 1
            if self._filled == len(self._buf) and self._since_hop >= self.hop:
                self._since_hop = 0
                results.append(self._decide(float(t)))
        return results

    def _decide(self, t_end: float) -> ActivityResult:
        start = time.perf_counter()
        probs = self.classify(self._buf)
        self._avg = probs if self._avg is None else self.smoothing * probs + (1 - self.smoothing) * self._avg
        best = int(self._avg.argmax())
        changed = False
        if self._avg[best] >= self.min_confidence and self.labels[best] != self._current:
            self._current, changed = self.labels[best], True
        label = self._current or "unknown"
        conf = float(self._avg[self.labels.index(label)]) if label in self.labels else float(self._avg[best])
        return ActivityResult(label, conf, dict(zip(self.labels, map(float, self._avg))), t_end,
                              (time.perf_counter() - start) * 1000, changed)
