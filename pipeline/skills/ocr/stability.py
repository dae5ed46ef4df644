"""Steady text on video: a line is shown only once it has been read in most of the last few frames.

One frame's reading of a sign can come out as junk (`k K` on a face, `EXIT 42|` from a shadow) or
miss the sign; shown raw, lines flicker in and out. A line (by its exact text) is *stable* while it
was read in at least ``needed`` of the last ``window`` frames; a stable line missed in this frame
stays on screen with the box where it was last read.

Chosen on the bundled demo sample (80 frames, the sign in all of them; pipeline/assets/sample_media.json):
`EXIT 42` stable in 76 of 80 frames at 3 of 5 (the first two frames cannot be), and no junk line in
any frame, against junk in 6 frames at 2 of 3 (measured with no confidence floor: a stricter test).
"""
from __future__ import annotations

from collections import deque

from pipeline.skills.ocr.reader import TextLine

NEEDED_FRAMES = 3
WINDOW_FRAMES = 5


class LineStabiliser:
    def __init__(self, needed: int = NEEDED_FRAMES, window: int = WINDOW_FRAMES):
        if not 1 <= needed <= window:
            raise ValueError(f"needed frames ({needed}) must be between 1 and the window ({window})")
        self.needed = needed
        self.history: deque[set[str]] = deque(maxlen=window)
        self.last_seen: dict[str, TextLine] = {}

    def update(self, lines: list[TextLine]) -> list[TextLine]:
        """This frame's lines -> the stable ones, in this frame's reading order, then carried-over lines."""
        self.history.append({line.text for line in lines})
        for line in lines:
            self.last_seen[line.text] = line
        seen = set().union(*self.history)
        self.last_seen = {t: line for t, line in self.last_seen.items() if t in seen}
        stable = {t for t in seen if sum(t in frame for frame in self.history) >= self.needed}
        current = [line for line in lines if line.text in stable]
        carried = [self.last_seen[t] for t in sorted(stable - {line.text for line in lines})]
        return current + carried

    def reset(self) -> None:
        self.history.clear()
        self.last_seen.clear()
