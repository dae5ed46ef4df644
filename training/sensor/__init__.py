"""Sensor intelligence: activity recognition (BasicMotions) and forecasting-based anomaly detection."""
