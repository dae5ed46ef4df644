"""Shared test set-up: quiet, single-threaded numerics so tests behave on a busy 2-core machine."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("PERCEIVE_NO_PROGRESS", "1")
