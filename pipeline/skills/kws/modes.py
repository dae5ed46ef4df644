"""Listening modes: which spotted words become events.

- ``commands``: every command is always listening (push-to-talk, quiet rooms); wake phrases are not
  spotted at all.
- ``wake``: commands are ignored until a wake phrase (>= 3 syllables, e.g. "computer") is heard; it is
  an event of its own and opens a command window of ``window_s`` seconds; ONE command inside the
  window is accepted and closes it; the window also closes on timeout. A second wake phrase inside an
  open window re-opens it from its own time.

The gate is pure (detections in, events out) so it is tested on synthetic detections and shared by
the runtime stage and the benchmark's replays.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import ConfigError

MODES = ("wake", "commands")
DEFAULT_MODE = "wake"       # the daemon's and `perceive listen`'s; a model without a wake phrase needs "commands"
DEFAULT_WINDOW_S = 3.0


@dataclass
class GateEvent:
    kind: str          # "wake" or "keyword"
    detection: object  # the pipeline.skills.kws.detector.Detection that caused it


def check_mode(mode: str, wake_phrases: list[str], model: str) -> None:
    """One-line errors for a mode the model cannot serve."""
    if mode not in MODES:
        raise ConfigError(f"kws mode '{mode}': expected one of {list(MODES)}")
    if mode == "wake" and not wake_phrases:
        raise ConfigError(f"kws mode 'wake': model '{model}' has no wake phrase (contract params.wake_phrases); "
                          "use mode 'commands' or a model trained with a wake phrase")


class CommandGate:
    """Streaming gate over detections in time order (``keyword`` and ``t`` attributes)."""

    def __init__(self, mode: str, wake_phrases: list[str], window_s: float = DEFAULT_WINDOW_S):
        if mode not in MODES:
            raise ConfigError(f"kws mode '{mode}': expected one of {list(MODES)}")
        if window_s <= 0:
            raise ConfigError(f"kws window_s must be > 0, got {window_s}")
        self.mode, self.wake_phrases, self.window_s = mode, set(wake_phrases), window_s
        self.reset()

    def reset(self) -> None:
        self.open_until = float("-inf")   # stream time the command window closes; -inf: closed

    def is_open(self, t: float) -> bool:
        return t <= self.open_until

    def feed(self, detection) -> GateEvent | None:
        is_wake = detection.keyword in self.wake_phrases
        if self.mode == "commands":
            return None if is_wake else GateEvent("keyword", detection)
        if is_wake:
            self.open_until = detection.t + self.window_s
            return GateEvent("wake", detection)
        if not self.is_open(detection.t):
            return None
        self.open_until = float("-inf")   # one command per window
        return GateEvent("keyword", detection)


def gate(detections: list, mode: str, wake_phrases: list[str], window_s: float = DEFAULT_WINDOW_S) -> list[GateEvent]:
    """All events a detection list gives in ``mode`` (a fresh gate)."""
    g = CommandGate(mode, wake_phrases, window_s)
    return [e for d in detections if (e := g.feed(d))]
