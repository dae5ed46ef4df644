"""Preprocessing shared by training and the runtime, so a model sees the same tensor in both."""
