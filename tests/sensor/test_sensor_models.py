"""The shipped sensor models on checked-in fixtures from data they never trained on."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.runtime.stage import SHIPPED_MODELS
from pipeline.skills.sensor.activity import ActivityRecognizer
from pipeline.skills.sensor.anomaly import AnomalyDetector

FIXTURES = Path(__file__).parent / "fixtures"
ECG_RATE_HZ = 250.0
ECG_ANOMALY_S = (6936 / ECG_RATE_HZ, 7288 / ECG_RATE_HZ)  # the labelled segment of the mitdb series


def sense(*args):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "sense", *args, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return [e for e in lines if "kind" in e], lines[-1]["summary"]


def test_har_contract_describes_the_stream():
    c = Engine(SHIPPED_MODELS / "har.onnx").contract
    assert c.task == "har" and c.labels == ["badminton", "running", "standing", "walking"]
    assert c.sensor.channels == ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    assert c.sensor.window == 100 and c.sensor.sample_rate_hz == 10.0 and len(c.sensor.std) == 6
    assert c.metrics["basicmotions_test"]["int8"]["test_accuracy"] >= 0.975


def test_har_reports_each_activity_change_of_held_out_recordings():
    # four BasicMotions TEST recordings (standing, walking, running, badminton), 10 s each, back to back
    events, summary = sense("--source", f"csv:{FIXTURES / 'activities.csv'}")
    assert [e["data"]["activity"] for e in events] == ["standing", "walking", "running", "badminton"]
    starts = [e["data"]["t"] for e in events]
    assert all(10 * i <= t < 10 * (i + 1) for i, t in zip(range(4), starts)), starts
    assert summary["samples"] == 400 and summary["rejected"] == {}


def test_anomaly_flags_the_abnormal_beat_and_nothing_else():
    events, summary = sense("--model", "anomaly", "--source", f"csv:{FIXTURES / 'ecg_eval.csv'}")
    assert len(events) == 1, events
    assert ECG_ANOMALY_S[0] <= events[0]["data"]["t"] <= ECG_ANOMALY_S[1]
    assert summary["samples"] == 2500


def test_streaming_hops_equal_one_pass():
    values = np.loadtxt(FIXTURES / "ecg_eval.csv", delimiter=",", skiprows=1)[:600, 1]
    whole = AnomalyDetector(Engine(SHIPPED_MODELS / "anomaly.onnx")).push(values).scores
    detector = AnomalyDetector(Engine(SHIPPED_MODELS / "anomaly.onnx"))
    hops = np.concatenate([detector.push(values[i:i + 7]).scores for i in range(0, len(values), 7)])
    np.testing.assert_allclose(hops, whole, rtol=1e-4, atol=1e-4)


def test_activity_windows_are_classified_after_a_full_window_only():
    rec = ActivityRecognizer(Engine(SHIPPED_MODELS / "har.onnx"))
    data = np.loadtxt(FIXTURES / "activities.csv", delimiter=",", skiprows=1)[:, 1:]
    times = np.arange(len(data)) / 10.0
    assert rec.push(data[:99], times[:99]) == []
    first = rec.push(data[99:100], times[99:100])
    assert len(first) == 1 and first[0].t_end == 9.9
    later = rec.push(data[100:130], times[100:130])
    assert [r.t_end for r in later] == [10.9, 11.9, 12.9]  # hop of 10 samples


@pytest.mark.parametrize("bad", [np.full((100, 6), np.nan), np.zeros((100, 5))])
def test_bad_windows_are_refused(bad):
    from pipeline.errors import InputError
    with pytest.raises(InputError):
        ActivityRecognizer(Engine(SHIPPED_MODELS / "har.onnx")).classify(bad)
