"""A dependency-free progress bar on stderr (tqdm is not a runtime dependency)."""
from __future__ import annotations

import os
import sys
import time

BAR_WIDTH = 30
MIN_REDRAW_S = 0.1  # redraw at most ten times a second: printing must not cost benchmark time


class Progress:
    """``with Progress(total, "label") as bar: bar.update()``; silent when stderr is not a
    terminal or PERCEIVE_NO_PROGRESS is set, so logs and pipes stay clean."""

    def __init__(self, total: int, label: str = "", stream=None, enabled: bool | None = None):
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() and os.environ.get("PERCEIVE_NO_PROGRESS", "") in ("", "0")
        self.enabled = enabled
        self._last = 0.0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._last >= MIN_REDRAW_S:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        frac = min(self.done / self.total, 1.0)
        filled = int(frac * BAR_WIDTH)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                          f"{self.done}/{self.total}")
        self.stream.flush()
