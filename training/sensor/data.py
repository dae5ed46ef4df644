"""Datasets that ship offline inside sktime, with their provenance."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

HAR_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
HAR_RATE_HZ = 10.0  # BasicMotions: 10 s recordings at 10 Hz
HAR_PROVENANCE = ("BasicMotions (UEA archive: smartwatch accelerometer + gyroscope, 4 activities, "
                  "40 train / 40 test recordings), as bundled in sktime (BSD-3-Clause)")


def load_basic_motions(split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(N, T, C) float32 windows, (N,) int labels, label names; the standard train/test split."""
    from sktime.datasets import load_basic_motions as load
    X, y = load(split=split, return_type="numpy3D")
    labels = sorted(set(str(v) for v in y))
    return X.transpose(0, 2, 1).astype(np.float32), np.array([labels.index(str(v)) for v in y]), labels


@dataclass(frozen=True)
class AnomalySeries:
    name: str
    values: np.ndarray   # (T,) float
    labels: np.ndarray   # (T,) 0/1
    rate_hz: float
    train_end: int       # [0, train_end): normal data the model learns from
    calib_end: int       # [train_end, calib_end): normal data the threshold is set on
    provenance: str      # evaluation runs on [calib_end, T)


def _sktime_csv(name: str) -> tuple[np.ndarray, np.ndarray]:
    import sktime.datasets
    path = os.path.join(os.path.dirname(sktime.datasets.__file__), "data", name, f"{name}.csv")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1].astype(np.int64)


def load_anomaly_series(name: str) -> AnomalySeries:
    """Real labelled series bundled with sktime. The splits keep every labelled anomaly in the
    evaluation part, so neither training nor threshold calibration ever sees one."""
    values, labels = _sktime_csv(name)
    if name == "mitdb":
        return AnomalySeries(
            "mitdb", values, labels, 250.0, train_end=3500, calib_end=5000,
            provenance="MIT-BIH Arrhythmia Database ECG excerpt (PhysioNet, ODC-By 1.0) as bundled in "
                       "sktime (datasets/data/mitdb); one labelled abnormal segment")
    if name == "yahoo":
        return AnomalySeries(
            "yahoo", values, labels, 1.0, train_end=300, calib_end=420,
            provenance="Yahoo Webscope S5 excerpt as bundled in sktime (datasets/data/yahoo); "
                       "7 labelled point anomalies")
    raise ValueError(f"unknown anomaly series '{name}' (known: mitdb, yahoo)")
