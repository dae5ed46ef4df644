"""When a pipeline thread that died on a bug is started again, and when it is given up.

A stage or source that raises something other than a ``PerceiveError`` (bad input, which no
restart can fix) kills the pipeline's thread. A supervised runner (the daemon's) starts it again
after a back-off that doubles from ``RESTART_INITIAL_S`` up to ``RESTART_MAX_S`` with every restart
inside the last ``RESTART_WINDOW_S``; a death beyond ``MAX_RESTARTS`` in that window gives up: the
thread ends, the daemon's health check calls the pipeline stuck and withholds the systemd watchdog,
so systemd restarts the whole service, as it did before restarts existed. A pipeline that dies
rarely (fewer than ``MAX_RESTARTS`` times in any window) is restarted for ever, and its back-off
falls back to ``RESTART_INITIAL_S`` once its earlier deaths have left the window.

With the defaults a pipeline that dies on every item is restarted after 0.5, 1, 2, 4, 8, 16, 30
and 30 s (91.5 s in all), then given up; the watchdog (``WatchdogSec=30`` in the shipped unit)
trips about two minutes after the first death.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

RESTART_INITIAL_S = 0.5     # first back-off: long enough not to spin on an error that repeats at once
RESTART_MAX_S = 30.0        # longest back-off: one WatchdogSec of the shipped unit
BACKOFF_FACTOR = 2.0
MAX_RESTARTS = 8            # restarts inside one window before the pipeline is given up
RESTART_WINDOW_S = 600.0    # deaths older than this are forgotten (and the back-off with them)


@dataclass(frozen=True)
class RestartPolicy:
    """How a supervised runner restarts its dead thread. ``clock`` and ``sleep`` are injectable for
    tests; ``sleep`` returns True when the wait was cut short by ``stop()`` (None: the runner waits
    on its own stop event, so stopping during a back-off is immediate)."""

    initial_s: float = RESTART_INITIAL_S
    max_s: float = RESTART_MAX_S
    max_restarts: int = MAX_RESTARTS
    window_s: float = RESTART_WINDOW_S
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], bool] | None = None


class RestartTracker:
    """Remembers the restarts inside the window and says how long to wait before the next one."""

    def __init__(self, policy: RestartPolicy):
        self.policy = policy
        self._recent: deque[float] = deque()   # clock() of each restart still inside the window

    def next_delay(self) -> float | None:
        """Seconds to wait before restarting after a death now, or None to give up."""
        p = self.policy
        now = p.clock()
        while self._recent and now - self._recent[0] > p.window_s:
            self._recent.popleft()
        if len(self._recent) >= p.max_restarts:
            return None
        delay = min(p.max_s, p.initial_s * BACKOFF_FACTOR ** len(self._recent))
        self._recent.append(now)
        return delay

    @property
    def recent(self) -> int:
        return len(self._recent)
