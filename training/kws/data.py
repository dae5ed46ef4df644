"""Training sequences for a streaming keyword spotter, built from the synthesised corpus.

A sequence is ``seq_s`` seconds of background noise (white, pink, brown, mains hum or
babble of other utterances, at a random SNR; sometimes none at all, as from a muted or
virtual device, or starting mid-sequence) holding zero to three utterances or a phrase of
several non-keyword words, each with random gain, speed
perturbation and sometimes room reverb; keywords are sometimes preceded by a filler
word, so they occur inside longer phrases. The first utterance starts anywhere in the
sequence, so words are seen after any amount of preceding audio up to ``seq_s``: the
runtime decides on a stream that has run between half and all of that.

Labels are per feature frame, because the runtime reads a posterior at every hop:
frames ending within ``label_span`` frames after a keyword's end carry the keyword,
frames inside a keyword are ignored (the word is not finished yet), frames inside or
after a filler word are ``_unknown_``, all others ``_silence_``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve, lfilter, resample_poly

from pipeline.skills.kws.features import default_spec, frame_sizes, log_mel
from training.common import progress
from training.kws.synth import clip

IGNORE = -100
SILENCE, UNKNOWN = "_silence_", "_unknown_"
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
BABBLE_TALKERS = 4
HUM_HZ = (50.0, 60.0)


@dataclass
class Mix:
    seq_s: float = 2.0
    label_span: int = 20          # frames after a keyword's end labelled with it
    snr_db: tuple = (0.0, 30.0)
    level_db: tuple = (-35.0, -3.0)   # peak level of the mixed sequence, dBFS
    speed: tuple = (0.9, 1.1)
    p_reverb: float = 0.3
    p_phrase: float = 0.35        # keyword preceded by a filler word
    p_second: float = 0.3         # a second utterance in the same sequence (and a third, as often again)
    p_clean: float = 0.0          # no background noise: digital silence around the words
    max_phrase: int = 1           # non-keyword sequences run 1..max_phrase filler words together
    p_step: float = 0.0           # the background starts mid-sequence (a muted input coming alive)


def noise(kind: str, n: int, rng: np.random.Generator, babble_pool: list[np.ndarray], rate: int) -> np.ndarray:
    white = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        x = white
    elif kind == "pink":   # Voss-McCartney-free approximation: a standard 1/f IIR filter
        x = lfilter([0.049922, -0.095993, 0.050613, -0.004408], [1, -2.494956, 2.017265, -0.522189], white)
    elif kind == "brown":
        x = lfilter([1.0], [1.0, -0.995], white)
    elif kind == "hum":
        t = np.arange(n) / rate
        f0 = rng.choice(HUM_HZ)
        x = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5)) + 0.05 * white
    else:
        x = np.zeros(n, dtype=np.float32)
        for i in rng.choice(len(babble_pool), size=BABBLE_TALKERS):
            talker = babble_pool[i]
            x += np.resize(talker, n) * rng.uniform(0.5, 1.0)
    x = np.asarray(x, dtype=np.float32)
    return x / (np.sqrt((x ** 2).mean()) + 1e-9)


def reverb(x: np.ndarray, rng: np.random.Generator, rate: int) -> np.ndarray:
    """A simple room: exponentially decaying noise impulse response, RT60 0.1-0.5 s."""
    rt60 = rng.uniform(0.1, 0.5)
    t = np.arange(int(rate * rt60)) / rate
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0
    y = fftconvolve(x, ir)[:len(x)]
    return (y / (np.abs(y).max() + 1e-9) * np.abs(x).max()).astype(np.float32)


def perturb_speed(x: np.ndarray, factor: float) -> np.ndarray:
    up = 100
    return resample_poly(x, up, int(round(up * factor))).astype(np.float32)


def compose(parts: list[tuple[np.ndarray, int]], n_classes_silence: int, unknown: int, mix: Mix,
            rng: np.random.Generator, babble_pool: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Place utterances (audio, label) into noise; returns (samples, per-frame labels)."""
    spec = default_spec()
    rate = spec.sample_rate
    n = int(mix.seq_s * rate)
    window, hop = frame_sizes(spec)
    n_frames = 1 + (n - window) // hop
    frame_end = np.arange(n_frames) * hop + window
    labels = np.full(n_frames, n_classes_silence, dtype=np.int64)
    speech = np.zeros(n, dtype=np.float32)
    parts = [(perturb_speed(audio, rng.uniform(*mix.speed)), label) for audio, label in parts]
    first = len(parts[0][0]) if parts else 0
    cursor = int(rng.uniform(0.05 * rate, max(0.05 * rate + 1, n - mix.label_span * hop - first)))
    for audio, label in parts:
        if cursor + len(audio) > n - mix.label_span * hop:
            break
        start = cursor
        end = start + len(audio)
        speech[start:end] += audio * 10 ** (rng.uniform(-6, 0) / 20)
        inside = (frame_end > start) & (frame_end <= end)
        after = (frame_end > end) & (frame_end <= end + mix.label_span * hop)
        labels[inside] = unknown if label == unknown else IGNORE
        labels[after] = label
        cursor = end + int(rng.uniform(0.0, 0.1 if label == unknown else 0.6) * rate)
    if rng.random() < mix.p_reverb:
        speech = reverb(speech, rng, rate)
    speech_rms = np.sqrt((speech[speech != 0] ** 2).mean()) if speech.any() else 0.05
    x = speech
    if rng.random() >= mix.p_clean:
        kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
        snr = rng.uniform(*mix.snr_db)
        background = noise(kind, n, rng, babble_pool, rate) * speech_rms * 10 ** (-snr / 20)
        if rng.random() < mix.p_step:
            background[:int(rng.uniform(0, 0.6) * n)] = 0.0
        x = speech + background
    x *= 10 ** (rng.uniform(*mix.level_db) / 20) / (np.abs(x).max() + 1e-9)
    return x.astype(np.float32), labels


def make_sequences(corpus: dict, indices: np.ndarray, count: int, labels: list[str], mix: Mix, seed: int,
                   desc: str) -> tuple[np.ndarray, np.ndarray]:
    """``count`` feature sequences (float16, (count, frames, mels)) and frame labels from corpus clips."""
    rng = np.random.default_rng(seed)
    index = {name: i for i, name in enumerate(labels)}
    silence, unknown = index[SILENCE], index[UNKNOWN]
    words = corpus["word"][indices]
    keyword_idx = indices[np.isin(words, labels)]
    filler_idx = indices[~np.isin(words, labels)]
    babble_pool = [clip(corpus, i) for i in rng.choice(filler_idx, size=min(200, len(filler_idx)), replace=False)]
    feats, targets = [], []
    for _ in progress(range(count), desc=desc):
        r = rng.random()
        parts = []
        if r < 0.62:   # keyword, maybe inside a phrase
            if rng.random() < mix.p_phrase:
                parts.append((clip(corpus, rng.choice(filler_idx)), unknown))
            k = rng.choice(keyword_idx)
            parts.append((clip(corpus, k), index[corpus["word"][k]]))
        elif r < 0.92:   # other speech: one word or a few run together
            parts += [(clip(corpus, i), unknown) for i in rng.choice(filler_idx, rng.integers(1, mix.max_phrase + 1))]
        for p_more in (mix.p_second, mix.p_second ** 2):
            if parts and rng.random() < p_more:
                pick = rng.choice(keyword_idx if rng.random() < 0.5 else filler_idx)
                word = corpus["word"][pick]
                parts.append((clip(corpus, pick), index[word] if word in index else unknown))
        x, y = compose(parts, silence, unknown, mix, rng, babble_pool)
        feats.append(log_mel(x, default_spec()).astype(np.float16))
        targets.append(y)
    return np.stack(feats), np.stack(targets)
