"""Real speech mixed into the synthesised corpus (never replacing it): the train split of
training/kws/real.py joins the pool training sequences are drawn from, single words repeated so that
they are a sizeable share of it; the tune split gives sequences for choosing the epoch kept."""
from __future__ import annotations

import numpy as np

from training.kws import real
from training.kws.data import Mix, make_sequences

CONTINUOUS_SEGMENT_S = 2.0   # continuous speech cut into pieces that fit a training sequence


def _corpus(cfg, split: str) -> dict:
    clips = [c for c in real.list_clips() if c.split == split]
    return real.corpus(clips, CONTINUOUS_SEGMENT_S)


def with_real(cfg, corpus: dict, pool: np.ndarray, test_idx: np.ndarray):
    """The corpus with the real train split appended, the training pool with its clips (repeated),
    and the held-out TTS corpus and indices (unchanged: real clips come after the synthesised ones)."""
    extra = _corpus(cfg, "train")
    first = len(corpus["word"])
    joined = real.concat(corpus, extra)
    words = extra["word"]
    repeats = np.where(np.isin(words, cfg.wake_words), cfg.wake_repeat,
                       np.where(words == real.CONTINUOUS_WORD, 1, cfg.real_repeat))
    real_pool = np.repeat(np.arange(len(words)) + first, repeats)
    return joined, np.concatenate([pool, real_pool]), joined, test_idx


def tune_sequences(cfg, names: list[str], mix: Mix, seed: int):
    """Sequences of real TUNE-split speakers and files (never the held-out ones)."""
    tune = _corpus(cfg, "tune")
    return make_sequences(tune, np.arange(len(tune["word"])), cfg.real_test_sequences, names, mix, seed,
                          "mixing real tune")
