"""Streaming keyword detection: features -> stateful model -> smoothed posteriors -> events.

The features come from the front end the contract names (pipeline/skills/kws/frontend.py): log-mel frames
for the LSTMs up to v7, speech embeddings every 80 ms for v8, whose model is a window over the last
embeddings carried as its state (``reset_frames`` 0: one stream, never reset).

Each hop runs the model on its new frames only, carrying the recurrent state. The
model was trained on sequences of ``reset_frames`` frames from a zero state, so two
streams run side by side (one batch of 2), each reset every ``reset_frames`` frames,
staggered by half of that; the posterior comes from the stream that has run longer,
which has seen at least half a cycle of context and never more than the model was
trained on. A word up to half a cycle long is always wholly inside that stream.

Decisions: the posterior is averaged over the last ``smooth_frames`` frames; a keyword
fires when its average has passed its threshold for ``hold_frames`` frames in a row
(a syllable inside a longer word rarely holds), outside the refractory period after the
previous event, and (optionally) only when the recent audio is louder than a gate.

A model may also name wake phrases (contract ``params.wake_phrases``, labels of the same model, so one
LSTM pass serves both listening modes: pipeline/skills/kws/modes.py). They are spotted only when asked
(``DetectorOptions.wake``); a command may follow a wake phrase after ``WAKE_TAIL_S`` instead of the
whole refractory period, since "computer, stop" leaves no pause. In wake mode commands are decided
at the contract's ``window_threshold`` (when it has one): the gate accepts them only in the short
window after a wake phrase, so a command there can be heard at a permissive threshold.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError, InputError
from pipeline.skills.kws.frontend import make_front_end
from pipeline.skills.kws.features import check_clip, frame_sizes

STREAMS = 2                 # staggered streams of a recurrent model that is reset every reset_frames
DEFAULT_HOP_FRAMES = 4      # log-mel frames gathered before the model runs, unless the contract says otherwise
ENERGY_HISTORY_S = 1.5      # frame energies kept to estimate where a word started
START_MARGIN_DB = 10.0      # a word starts where the energy last rose this far above the recent floor
REPLAY_ENERGY_DB = 0.0      # replays have no audio: every step counts as loud
WAKE_TAIL_S = 0.15          # after a wake phrase, commands wait this long (its posterior tail), not refractory_s


@dataclass
class Detection:
    keyword: str
    confidence: float
    start: float       # estimated word start, seconds of stream time
    end: float         # estimated word end (where the keyword's posterior rose)
    t: float           # stream time of the frame that triggered the event
    latency_ms: float  # (t - end) plus the compute time of the block that fired


@dataclass
class DetectorOptions:
    threshold: float = 0.0                 # 0: the contract's default
    thresholds: dict = field(default_factory=dict)   # per keyword, overrides threshold
    smooth_frames: int = 0                 # 0: the contract's value
    refractory_s: float = 1.0
    gate_db: float = -90.0                 # minimum peak frame energy (dB) in the last second; -90 = off
    hop_frames: int = 0                    # feature steps gathered before the model runs (fewer calls, more
                                           # latency); 0: the contract's params.hop_frames, else 4
    hold_frames: int = 0                   # 0: the contract's; the average must pass for this many frames in a row
    wake: bool = False                     # also spot the model's wake phrases (wake mode)


class KeywordSpotter:
    def __init__(self, engine: Engine, options: DetectorOptions | None = None):
        c = engine.contract
        if c is None or c.task != "kws" or c.audio is None or not c.state:
            raise ContractError(f"{engine.path.name}: not a streaming keyword model (task 'kws' with "
                                "audio and state sections)")
        missing = [k for k in ("reset_frames", "threshold", "smooth_frames", "keywords") if k not in c.params]
        if missing:
            raise ContractError(f"{engine.path.name}: contract params lack {missing}")
        self.engine, self.contract, self.spec = engine, c, c.audio
        self.options = options or DetectorOptions()
        self.labels = list(c.labels)
        self.commands = list(c.params["keywords"])
        self.wake_phrases = list(c.params.get("wake_phrases", []))
        bad = [w for w in self.commands + self.wake_phrases if w not in self.labels]
        if bad:
            raise ContractError(f"{engine.path.name}: keywords or wake phrases {bad} are not labels of the model")
        unknown = set(self.options.thresholds) - set(self.commands + self.wake_phrases)
        if unknown:
            raise ContractError(f"thresholds for {sorted(unknown)}: not keywords of model '{c.name}' "
                                f"({self.commands + self.wake_phrases})")
        self.keywords = self.commands + (self.wake_phrases if self.options.wake else [])
        self._is_wake = np.array([k in self.wake_phrases for k in self.keywords])
        self.thresholds = np.array([self._threshold(k) for k in self.keywords])
        self.kw_index = np.array([self.labels.index(k) for k in self.keywords])
        self.smooth = int(self.options.smooth_frames or c.params["smooth_frames"])
        self.hold = int(self.options.hold_frames or c.params.get("hold_frames", 1))
        self.cycle = int(c.params["reset_frames"])   # 0: never reset (a windowed model whose state is its input ring)
        self.streams = STREAMS if self.cycle else 1
        self.gather = int(self.options.hop_frames or c.params.get("hop_frames", DEFAULT_HOP_FRAMES))
        self._x = next(t.name for t in c.inputs if t.name not in c.state)
        self._out = next(t.name for t in c.outputs if t.name not in c.state.values())
        self._shapes = {t.name: [self.streams if d == "batch" else d for d in t.shape] for t in c.inputs
                        if t.name in c.state}
        self.window, self.hop = frame_sizes(self.spec)
        self.features = make_front_end(engine)
        self.reset()

    def _threshold(self, keyword: str) -> float:
        """Most specific first: this keyword's option, the global option, the contract's value for
        this keyword (chosen per keyword by the benchmark), the contract's global value."""
        if keyword in self.options.thresholds:
            return float(self.options.thresholds[keyword])
        if self.options.threshold and keyword in self.commands:   # a wake phrase keeps its own
            return float(self.options.threshold)
        if self.options.wake and keyword in self.commands and "window_threshold" in self.contract.params:
            return float(self.contract.params["window_threshold"])
        return float(self.contract.params.get("thresholds", {}).get(keyword, self.contract.params["threshold"]))

    def reset(self) -> None:
        self.features.reset()
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._sum = np.zeros(len(self.labels))
        self._state = {n: np.zeros(s, np.float32) for n, s in self._shapes.items()}
        self._age = np.array([0, self.cycle // 2][:self.streams])   # stream 1 is reset half a cycle earlier
        self._recent = deque(maxlen=self.smooth)
        self._energy = deque(maxlen=int(ENERGY_HISTORY_S * 1000 / self.spec.hop_ms))
        self._last_event_t = -np.inf    # last command event
        self._last_wake_t = -np.inf     # last wake-phrase event
        self._rise = {}       # keyword -> frame time where its posterior started leading
        self._streak = np.zeros(len(self.keywords), np.int64)   # frames in a row each keyword passed
        self.frames = 0

    def frame_time(self, frame: int) -> float:
        return (frame * self.hop + self.window) / self.spec.sample_rate

    def push(self, samples: np.ndarray) -> list[Detection]:
        """Feed the next samples (mono float32 at the contract's rate); returns the events they caused."""
        start = time.perf_counter()
        feats, energy = self._gather(samples)
        posts = self._posteriors(feats)
        events = []
        for i, p in enumerate(posts):
            det = self._decide(p, energy[i], self.frames + i)
            if det:
                events.append(det)
        self.frames += len(feats)
        compute_ms = (time.perf_counter() - start) * 1000
        for e in events:
            e.latency_ms = round((e.t - e.end) * 1000 + compute_ms, 1)
        return events

    def posteriors(self, samples: np.ndarray) -> np.ndarray:
        """Raw per-frame posteriors for the next samples (no decisions), computed as ``push`` does."""
        feats, _ = self._gather(samples)
        self.frames += len(feats)
        return self._posteriors(feats)

    def _gather(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features (and their energies, dB) of the pending audio once it holds ``gather`` steps, else none yet."""
        samples = check_clip(samples, self.spec, where="audio block")
        self._pending.append(samples.copy())   # sources reuse their block buffer
        self._pending_n += len(samples)
        if self._pending_n < self.gather * self.hop:
            return np.zeros((0, self.features.dim), np.float32), np.zeros(0)
        out = self.features.push(np.concatenate(self._pending))
        self._pending, self._pending_n = [], 0
        return out

    def replay(self, posts: np.ndarray) -> list[Detection]:
        """The decisions ``push`` would make on recorded posteriors (energy gate and word starts
        not applied); lets a benchmark try many thresholds on one pass of the model."""
        self._recent.clear()
        self._sum[:] = 0.0
        self._rise.clear()
        self._streak[:] = 0
        self._energy.clear()
        self._last_event_t = self._last_wake_t = -np.inf
        return [d for f, p in enumerate(posts) if (d := self._decide(p, REPLAY_ENERGY_DB, f))]

    def _posteriors(self, feats: np.ndarray) -> np.ndarray:
        out, pos = [], 0
        while pos < len(feats):
            n = int(min(len(feats) - pos, (self.cycle - self._age).min())) if self.cycle else len(feats)
            x = np.broadcast_to(feats[pos:pos + n], (self.streams, n, feats.shape[1]))
            res = self.engine.run({self._x: np.ascontiguousarray(x), **self._state})
            self._state = {k: res[v] for k, v in self.contract.state.items()}
            older = int(np.argmax(self._age))
            logits = res[self._out][older]
            e = np.exp(logits - logits.max(-1, keepdims=True))
            out.append(e / e.sum(-1, keepdims=True))
            self._age += n
            for s in np.flatnonzero(self._age >= self.cycle) if self.cycle else ():
                for name in self._state:
                    self._state[name][:, s] = 0.0
                self._age[s] = 0
            pos += n
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def _decide(self, post: np.ndarray, energy_db: float, frame: int) -> Detection | None:
        if len(self._recent) == self._recent.maxlen:
            self._sum -= self._recent[0]
        self._recent.append(post)
        self._sum += post
        self._energy.append(energy_db)
        t = self.frame_time(frame)
        leader = int(np.argmax(post))
        for k in list(self._rise):
            if self.labels.index(k) != leader:
                del self._rise[k]
        if self.labels[leader] in self.keywords:
            self._rise.setdefault(self.labels[leader], t)
        free = ~self._blocked(t)
        if len(self._recent) < self.smooth or not free.any():
            return None
        avg = (self._sum / len(self._recent))[self.kw_index]
        above = (avg >= self.thresholds) & free
        self._streak = np.where(above, self._streak + 1, 0)
        passing = np.flatnonzero(above & (self._streak >= self.hold))
        if not len(passing) or max(self._energy) < self.options.gate_db:
            return None
        best = passing[np.argmax(avg[passing])]
        keyword = self.keywords[best]
        if self._is_wake[best]:
            self._last_wake_t = t
        else:
            self._last_event_t = t
        self._streak[:] = 0
        end = self._rise.get(keyword, t)
        return Detection(keyword, round(float(avg[best]), 3), round(self._word_start(end, t), 3), round(end, 3),
                         round(t, 3), 0.0)

    def _blocked(self, t: float) -> np.ndarray:
        """Per spotted word: inside a refractory period. Commands wait refractory_s after a command
        and WAKE_TAIL_S after a wake phrase; wake phrases wait refractory_s after a wake phrase only
        (a command outside the window is dropped by the gate and must not mask the wake phrase)."""
        since_command, since_wake = t - self._last_event_t, t - self._last_wake_t
        refractory = self.options.refractory_s
        command_blocked = since_command < refractory or since_wake < WAKE_TAIL_S
        wake_blocked = since_wake < refractory
        return np.where(self._is_wake, wake_blocked, command_blocked)

    def _word_start(self, end: float, now: float) -> float:
        """Walk back from the word's end while the frame energy stays well above the recent floor."""
        energy = np.array(self._energy)
        frames_back = int(round((now - end) * 1000 / self.spec.hop_ms))
        hi = max(0, len(energy) - 1 - max(0, frames_back))
        floor = np.percentile(energy, 10)
        i = hi
        while i > 0 and energy[i - 1] > floor + START_MARGIN_DB:
            i -= 1
        return end - (hi - i) * self.spec.hop_ms / 1000


def detect_clip(spotter: KeywordSpotter, samples: np.ndarray, rate: int, block: int = 320) -> list[Detection]:
    """All detections in a whole clip, fed in blocks as a live stream would be; the clip is checked first."""
    samples = check_clip(samples, spotter.spec, rate, where="clip")
    if len(samples) == 0:
        raise InputError("clip: empty (0 samples)")
    spotter.reset()
    events = []
    for i in range(0, len(samples), block):
        events += spotter.push(samples[i:i + block])
    return events
