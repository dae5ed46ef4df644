"""Sensor windows and anomaly scores, shared by training and the runtime."""
from __future__ import annotations

import numpy as np

from pipeline.contract import SensorSpec
from pipeline.errors import InputError


def normalize_window(window: np.ndarray, spec: SensorSpec) -> np.ndarray:
    """(T, C) raw samples in the contract's channel order -> float32 (1, T, C), standardised."""
    window = np.asarray(window, dtype=np.float32)
    if window.ndim != 2 or window.shape[1] != len(spec.channels):
        raise InputError(f"sensor window must be (time, {len(spec.channels)}) for channels "
                         f"{spec.channels}, got shape {window.shape}")
    if not np.isfinite(window).all():
        raise InputError("sensor window contains NaN or infinite values")
    mean = np.asarray(spec.mean or [0.0] * window.shape[1], dtype=np.float32)
    std = np.asarray(spec.std or [1.0] * window.shape[1], dtype=np.float32)
    return ((window - mean) / std)[None]


def sliding_windows(series: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(T, C) -> (N, window, C) views every ``hop`` samples (no copy)."""
    if len(series) < window:
        return np.zeros((0, window) + series.shape[1:], dtype=series.dtype)
    starts = range(0, len(series) - window + 1, hop)
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)  # (T-w+1, C, w)
    return np.moveaxis(view[list(starts)], -1, 1)


def forecast_errors(series: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """|x[t+1] - prediction made at t|: predictions[t] forecasts series[t+1]."""
    return np.abs(series[1:] - predictions[:-1])


def anomaly_scores(errors: np.ndarray, error_scale: float, smooth: int) -> np.ndarray:
    """Prediction errors in units of their calibration scale, averaged over ``smooth`` samples."""
    z = errors / max(error_scale, 1e-12)
    if smooth <= 1:
        return z
    kernel = np.ones(smooth) / smooth
    return np.convolve(z, kernel, mode="full")[: len(z)]  # causal: uses only past samples


def rolling_zscore(series: np.ndarray, window: int) -> np.ndarray:
    """|x - mean| / std of the preceding ``window`` samples: the classic baseline detector."""
    out = np.zeros(len(series))
    csum = np.cumsum(np.insert(series, 0, 0.0))
    csq = np.cumsum(np.insert(series ** 2, 0, 0.0))
    for t in range(window, len(series)):
        mean = (csum[t] - csum[t - window]) / window
        var = max((csq[t] - csq[t - window]) / window - mean ** 2, 1e-12)
        out[t] = abs(series[t] - mean) / np.sqrt(var)
    return out
