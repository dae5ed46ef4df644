"""Detection metrics and calibration helpers for the anomaly trainer."""
from __future__ import annotations

import numpy as np


def dominant_period(values: np.ndarray, low: int = 2, high: int | None = None) -> int:
    """The lag with the highest autocorrelation after the first dip: one cycle of the signal."""
    x = values - values.mean()
    high = high or len(x) // 3
    ac = np.array([np.dot(x[:-k], x[k:]) / (len(x) - k) for k in range(1, high)])
    first_dip = int(np.argmax(ac < 0)) if (ac < 0).any() else low
    lag = first_dip + int(np.argmax(ac[first_dip:])) + 1
    return max(low, lag)


def threshold_from(calibration_scores: np.ndarray, margin: float) -> float:
    """A threshold no calibration (normal) sample reaches, with a safety margin."""
    return float(np.max(calibration_scores) * margin)


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.where(edges == 1)[0], np.where(edges == -1)[0]))


def detection_scores(flags: np.ndarray, labels: np.ndarray, tolerance: int = 0) -> dict:
    """Point-wise precision / recall / F1, plus event counts (a labelled segment is found when
    any flag falls inside it; flagged runs touching no labelled segment are false alarms)."""
    flags, labels = flags.astype(bool), labels.astype(bool)
    tp = int((flags & labels).sum())
    precision = tp / max(1, int(flags.sum()))
    recall = tp / max(1, int(labels.sum()))
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    events = _segments(labels)
    found = sum(bool(flags[max(0, a - tolerance):b + tolerance].any()) for a, b in events)
    false_alarms = sum(not labels[max(0, a - tolerance):b + tolerance].any() for a, b in _segments(flags))
    return {"precision": precision, "recall": recall, "f1": f1, "flagged_points": int(flags.sum()),
            "events": len(events), "events_found": found, "false_alarm_runs": false_alarms}
