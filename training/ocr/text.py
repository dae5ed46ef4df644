"""Random printed-text content: dictionary words, numbers, dates, prices, codes, punctuation."""
from __future__ import annotations

import string

import numpy as np

WORDS_FILE = "/usr/share/dict/words"  # Debian wamerican
ALPHABET = "".join(chr(c) for c in range(32, 127))  # printable ASCII, space included
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def load_words() -> list[str]:
    with open(WORDS_FILE, encoding="utf-8", errors="ignore") as f:
        words = [w.strip() for w in f]
    return [w for w in words if w and all(c in ALPHABET for c in w) and "'" not in w]


class TextSampler:
    """Deterministic for a seed; mixes kinds of tokens the way labels, signs and screens do."""

    def __init__(self, seed: int, words: list[str] | None = None):
        self.rng = np.random.default_rng(seed)
        self.words = words or load_words()

    def token(self) -> str:
        r = self.rng.random()
        rng = self.rng
        if r < 0.55:
            w = self.words[rng.integers(len(self.words))]
            style = rng.random()
            return w.upper() if style < 0.15 else w.capitalize() if style < 0.35 else w
        if r < 0.65:
            return str(rng.integers(0, 10 ** rng.integers(1, 7)))
        if r < 0.72:
            return f"${rng.integers(0, 1000)}.{rng.integers(0, 100):02d}"
        if r < 0.78:
            d, m, y = rng.integers(1, 29), rng.integers(1, 13), rng.integers(1990, 2035)
            return [f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d} {MONTHS[m - 1]} {y}"][rng.integers(3)]
        if r < 0.84:
            chars = string.ascii_uppercase + string.digits
            return "".join(chars[i] for i in rng.integers(0, len(chars), rng.integers(3, 9))) + \
                ("-" + str(rng.integers(10, 999)) if rng.random() < 0.5 else "")
        if r < 0.92:
            return "".join(ALPHABET[i] for i in rng.integers(1, len(ALPHABET), rng.integers(1, 4)))
        return f"{rng.integers(1, 100)}{['%', 'kg', 'mm', 'ml', 'V', 'A', 'h'][rng.integers(7)]}"

    def line(self, max_chars: int = 40) -> str:
        parts: list[str] = []
        target = int(self.rng.integers(1, max_chars))
        while sum(len(p) + 1 for p in parts) < target:
            tok = self.token()
            if self.rng.random() < 0.12:
                tok += self.rng.choice([",", ".", ":", ";", "!", "?"])
            parts.append(tok)
        text = " ".join(parts)[:max_chars].strip()
        return text or self.token()[:max_chars]
