"""Offline training (PyTorch). Imports pipeline's preprocessing so training and runtime agree."""
