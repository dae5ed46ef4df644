"""Streaming sensor intelligence: activity recognition and forecasting-based anomaly detection."""
