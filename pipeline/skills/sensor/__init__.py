"""Sensor intelligence: activity recognition over IMU windows and anomaly detection on a scalar stream.

Tasks and models (pipeline/models/, cards beside them):
    har      har.onnx (+ har.fp32.onnx): conv + LSTM activity classifier (card har.md)
    anomaly  anomaly.onnx: stateful LSTM forecaster, anomalies scored on its error (card anomaly.md)
Modules: ``preprocess`` (windows, normalisation and anomaly scores, shared with training),
``activity`` (``ActivityRecognizer``), ``anomaly`` (``AnomalyDetector``), ``stage`` (stages
``activity`` and ``anomaly``). Used by `perceive sense`, the two stages, and export.
Training: training/sensor/ (`perceive train har`, `perceive train anomaly`);
export: export/sensor.py (`perceive export har`, `perceive export anomaly`).
"""
