"""Greedy CTC decoding with per-character confidence, and the edit distance used for CER."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLANK = 0


@dataclass
class Decoded:
    text: str
    char_confidences: list[float]

    @property
    def confidence(self) -> float:
        return float(min(self.char_confidences)) if self.char_confidences else 0.0

    @property
    def mean_confidence(self) -> float:
        return float(np.mean(self.char_confidences)) if self.char_confidences else 0.0


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# A blank stretch of at least this many output steps (4 px each on a 32 px line: 1.5 line heights)
# between two glyphs is written as a word gap. Recognisers trained to read nothing for CJK glyphs
# (training/ocr/real_lines.py) sometimes drop the gap with them: `航班 FLIGHT 日期 DATE` read
# `FLIGHTDATE`. Chosen on the TUNE photos (export/ocr_real.py) with recogniser run 7, `perceive ocr`
# / stage word recall: no rule 29.8% / 23.6%; 8 steps 35.4% / 29.2% (one false line); 12 steps
# 35.4% / 27.5%; 16 steps 33.7% / 27.5%; the recogniser shipped with it (run 7 fine-tuned) at 12:
# 38.2% / 29.8%; the previous recogniser never left such a stretch (33.1% / 26.4% either way).
WORD_GAP_STEPS = 12


def greedy_decode(probs: np.ndarray, alphabet: str, steps: int | None = None,
                  gap_steps: int = WORD_GAP_STEPS) -> Decoded:
    """probs (T, classes) for one line; class 0 is the blank, class i is alphabet[i - 1].
    A character's confidence is its highest probability over the steps that emitted it; a word gap
    written for a blank stretch of ``gap_steps`` or more (0: never) has the stretch's mean blank probability."""
    probs = probs[:steps] if steps else probs
    best = probs.argmax(axis=1)
    text, confs = [], []
    prev, last = BLANK, None   # last: the step of the last glyph
    for t, k in enumerate(best):
        if k != BLANK and k != prev:
            glyph = alphabet[k - 1]
            if gap_steps and last is not None and t - last > gap_steps and text[-1] != " " and glyph != " ":
                text.append(" ")
                confs.append(float(probs[last + 1:t, BLANK].mean()))
            text.append(glyph)
            confs.append(float(probs[t, k]))
        elif k != BLANK and k == prev and confs:
            confs[-1] = max(confs[-1], float(probs[t, k]))
        if k != BLANK:
            last = t
        prev = k
    return Decoded("".join(text), confs)


# An uncertain glyph at either end of a line is most often the sign's border or background caught
# by the crop margin ("EXIT 42|", "[EXIT 42", "EXIT 421" on the demo sample with the fp32 twins).
# Measured on 300 held-out-font synthetic lines (export/ocr_peers.py's sets): degraded CER 1.41% ->
# 1.39% at these limits (any glyph under 0.75: 1.58%), clean unchanged at 0.45%.
EDGE_PUNCT_CONFIDENCE = 0.75   # a non-alphanumeric end glyph below this is dropped
EDGE_ALNUM_CONFIDENCE = 0.5    # a letter or digit at an end below this is dropped
MIN_TRIMMED_LENGTH = 3         # shorter lines are left as read


def trim_edges(decoded: Decoded) -> Decoded:
    """At most one uncertain glyph dropped from each end of the line (and the spaces it leaves)."""
    text, confs = decoded.text, list(decoded.char_confidences)
    for end in (-1, 0):
        if len(text) >= MIN_TRIMMED_LENGTH:
            limit = EDGE_ALNUM_CONFIDENCE if text[end].isalnum() else EDGE_PUNCT_CONFIDENCE
            if confs[end] < limit:
                text, confs = (text[:-1], confs[:-1]) if end else (text[1:], confs[1:])
    while text[-1:] == " ":
        text, confs = text[:-1], confs[:-1]
    while text[:1] == " ":
        text, confs = text[1:], confs[1:]
    return Decoded(text, confs)


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(predictions: list[str], truths: list[str]) -> float:
    """Character error rate: total edits over total reference characters."""
    edits = sum(edit_distance(p, t) for p, t in zip(predictions, truths))
    return edits / max(1, sum(len(t) for t in truths))
