"""Log-mel features: the one implementation, used by training and by the live runtime.

Frames are not centred (frame i covers samples [i*hop, i*hop + window)), so a stream
can be featurised block by block: ``StreamingLogMel`` keeps the unconsumed tail and
yields exactly the frames ``log_mel`` gives for the whole signal (a test proves it).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from pipeline.contract import AudioSpec
from pipeline.errors import InputError

LOG_FLOOR = 1e-6  # added to mel energies before the log, so silence is finite


def default_spec() -> AudioSpec:
    """The keyword spotter's parameters: 40 mel bins, 25 ms window, 10 ms hop at 16 kHz."""
    return AudioSpec(sample_rate=16000, window_ms=25.0, hop_ms=10.0, n_mels=40, n_fft=512,
                     fmin=20.0, fmax=7600.0)


def frame_sizes(spec: AudioSpec) -> tuple[int, int]:
    """(window, hop) in samples."""
    return int(round(spec.sample_rate * spec.window_ms / 1000)), int(round(spec.sample_rate * spec.hop_ms / 1000))


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def _filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular HTK-style mel filters."""
    fmax = fmax or sample_rate / 2
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


@lru_cache(maxsize=8)
def _window(length: int) -> np.ndarray:
    return np.hanning(length + 1)[:-1].astype(np.float32)  # periodic Hann


def check_clip(samples: np.ndarray, spec: AudioSpec, rate: int | None = None, where: str = "audio") -> np.ndarray:
    """Mono float samples at the contract's rate, or a clear InputError saying what is wrong."""
    samples = np.asarray(samples)
    if rate is not None and rate != spec.sample_rate:
        raise InputError(f"{where}: sample rate {rate} Hz, the model needs {spec.sample_rate} Hz "
                         "(resample it, e.g. with the wav source which does so)")
    if samples.ndim != 1:
        raise InputError(f"{where}: expected mono samples of shape (n,), got shape {samples.shape} "
                         "(mix the channels down first)")
    if samples.dtype.kind != "f":
        raise InputError(f"{where}: expected float samples in [-1, 1], got dtype {samples.dtype}")
    if not np.isfinite(samples).all():
        raise InputError(f"{where}: {int((~np.isfinite(samples)).sum())} NaN or infinite samples")
    return samples.astype(np.float32, copy=False)


def log_mel(samples: np.ndarray, spec: AudioSpec) -> np.ndarray:
    """(n,) float32 samples -> (frames, n_mels) float32 log-mel; fewer samples than a window -> 0 frames."""
    samples = check_clip(samples, spec)
    window, hop = frame_sizes(spec)
    n_frames = 0 if len(samples) < window else 1 + (len(samples) - window) // hop
    if n_frames == 0:
        return np.zeros((0, spec.n_mels), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, window)[::hop][:n_frames] * _window(window)
    power = np.abs(np.fft.rfft(frames, n=spec.n_fft, axis=1)).astype(np.float32) ** 2
    mel = power @ _filterbank(spec.sample_rate, spec.n_fft, spec.n_mels, spec.fmin, spec.fmax)
    return np.log(mel + LOG_FLOOR).astype(np.float32)


class StreamingLogMel:
    """Feeds blocks of any length; returns the new complete frames, identical to ``log_mel`` of the whole."""

    def __init__(self, spec: AudioSpec):
        self.spec = spec
        self.window, self.hop = frame_sizes(spec)
        self._tail = np.zeros(0, dtype=np.float32)
        self.frames_out = 0  # frames emitted so far: frame k ends at sample k*hop + window

    def reset(self) -> None:
        self._tail = np.zeros(0, dtype=np.float32)
        self.frames_out = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        block = check_clip(block, self.spec, where="audio block")
        x = np.concatenate([self._tail, block]) if len(self._tail) else block
        feats = log_mel(x, self.spec)
        n = len(feats)
        self._tail = x[n * self.hop:].copy()
        self.frames_out += n
        return feats
