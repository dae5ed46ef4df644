"""Offline speech synthesis of the keyword corpus with espeak-ng and flite (Debian packages).

Every clip is 16 kHz mono int16, trimmed to its voiced part, tagged with its word and
its voice ("engine:voice+variant"). Voices are split into train and held-out sets *by
voice*: a held-out voice or variant is never synthesised into the training clips.
Deterministic for a seed (the random speed/pitch of every clip come from it).
"""
from __future__ import annotations

import io
import subprocess
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from pipeline.sources.audio import to_mono_float
from training.common import progress

SAMPLE_RATE = 16000
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan", "en-us-nyc", "en-gb-scotland",
                 "en-029", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f5", "Alex", "Annie", "m5", "f3")
FLITE_VOICES = ("kal16", "awb", "slt", "rms")
HELD_OUT_VOICES = ("en-029", "en-gb-x-gbcwmd", "rms")   # never in training, any variant
HELD_OUT_VARIANTS = ("m5", "f3")                          # never in training, any voice
TRIM_DB = -40.0   # frames quieter than this (relative to the clip's peak) are cut from both ends
TRIM_FRAME = 160

KEYWORDS = ("unlock", "lock", "yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off")
SYNTH_PROVENANCE = ("synthesised offline with espeak-ng (GPL-3.0, voices en-us, en-gb, en-gb-x-rp, "
                    "en-gb-x-gbclan, en-us-nyc, en-gb-scotland, en-029, en-gb-x-gbcwmd with variants) and "
                    "flite (BSD-style; kal16, awb, slt, rms); filler words from wamerican (public domain "
                    "word list; one word in ten reserved for evaluation), including hard negatives mined "
                    "by an earlier model (training/kws/hard_negatives.txt); noise generated")


@dataclass(frozen=True)
class Voice:
    engine: str     # espeak or flite
    name: str
    variant: str = ""

    @property
    def tag(self) -> str:
        return f"{self.engine}:{self.name}" + (f"+{self.variant}" if self.variant else "")

    @property
    def held_out(self) -> bool:
        return self.name in HELD_OUT_VOICES or self.variant in HELD_OUT_VARIANTS


def all_voices() -> list[Voice]:
    voices = [Voice("espeak", v, var) for v in ESPEAK_VOICES for var in ESPEAK_VARIANTS]
    return voices + [Voice("flite", v) for v in FLITE_VOICES]


def _wav_bytes_to_16k(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        rate, width = w.getframerate(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    x = to_mono_float(np.frombuffer(raw, dtype={1: np.uint8, 2: np.int16}[width]))
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return x


def synthesise(text: str, voice: Voice, speed: float, pitch: float) -> np.ndarray:
    """One utterance as float32 at 16 kHz. speed ~ 1.0 = normal, pitch in [0, 1]."""
    if voice.engine == "espeak":
        cmd = ["espeak-ng", "-v", f"{voice.name}+{voice.variant}", "-s", str(int(160 * speed)),
               "-p", str(int(pitch * 99)), "--stdout", text]
    else:
        cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / speed:.3f}",
               "--setf", f"int_f0_target_mean={90 + 110 * pitch:.0f}", "-t", text, "-o", "/dev/stdout"]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    return trim(_wav_bytes_to_16k(out))


def trim(x: np.ndarray) -> np.ndarray:
    """Cut leading and trailing near-silence so the word's end time is known to a frame."""
    n = len(x) // TRIM_FRAME
    if n == 0:
        return x
    energy = (x[:n * TRIM_FRAME].reshape(n, TRIM_FRAME) ** 2).mean(axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > TRIM_DB)
    return x[loud[0] * TRIM_FRAME:(loud[-1] + 1) * TRIM_FRAME] if len(loud) else x[:0]


def _dictionary() -> list[str]:
    words = Path("/usr/share/dict/words").read_text().split()
    return sorted({w.lower() for w in words if w.isalpha() and w.isascii() and 2 <= len(w) <= 9})


def _extends(word: str, vocabulary: tuple[str, ...]) -> bool:
    """A keyword plus a short prefix or suffix ("stops", "ago"): left out, because the keyword's
    own frames inside it would carry both labels."""
    return any((word.startswith(k) or word.endswith(k)) and len(word) <= len(k) + 2 for k in vocabulary)


def evaluation_word(word: str) -> bool:
    """One dictionary word in ten, fixed by a checksum of its spelling, is reserved for evaluation:
    never a training filler and never mined as a hard negative, so that choosing hard training
    words cannot make the words left for the benchmark easier."""
    return zlib.crc32(word.encode()) % 10 == 0


def filler_words(count: int, rng: np.random.Generator, vocabulary: tuple[str, ...],
                 evaluation: bool = False) -> list[str]:
    """Ordinary words from the system dictionary, excluding the vocabulary and words that extend it,
    from the training part of the dictionary or (``evaluation``) the reserved tenth."""
    pool = [w for w in _dictionary() if not _extends(w, vocabulary) and evaluation_word(w) == evaluation]
    return list(rng.choice(pool, size=count, replace=False))


def training_words(vocabulary: tuple[str, ...]) -> list[str]:
    """Every dictionary word a model for ``vocabulary`` may train on: not a keyword, not one that
    extends a keyword, not reserved for evaluation (the pool fillers and mined words come from)."""
    return [w for w in _dictionary() if w not in vocabulary and not _extends(w, vocabulary)
            and not evaluation_word(w)]


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def confusable_words(vocabulary: tuple[str, ...]) -> list[str]:
    """Dictionary words one letter away from a keyword ("lock": block, clock, luck, look): the
    near misses that make a spotter fire on ordinary speech, kept as hard _unknown_ examples."""
    return [w for w in training_words(vocabulary) if any(_one_edit(w, k) for k in vocabulary)]


def build_corpus(vocabulary: tuple[str, ...], per_word_voice: int, n_fillers: int, filler_per_word: int,
                 seed: int, confusables: bool = False, extra_fillers: list[str] = (), workers: int = 2) -> dict:
    """All clips as one dict of arrays: audio (concatenated int16), offsets, word, voice, held_out."""
    rng = np.random.default_rng(seed)
    voices = all_voices()
    jobs = []
    for word in vocabulary:
        for voice in voices:
            reps = per_word_voice * (3 if voice.engine == "flite" else 1)  # flite has few voices
            jobs += [(word, voice) for _ in range(reps)]
    fillers = filler_words(n_fillers, rng, vocabulary)
    if confusables:
        fillers += [w for w in confusable_words(vocabulary) if w not in fillers]
    fillers += [w for w in dict.fromkeys(extra_fillers) if w not in fillers]
    for word in fillers:
        jobs += [(word, voices[i]) for i in rng.choice(len(voices), size=filler_per_word, replace=False)]
    params = rng.uniform([0.75, 0.15], [1.35, 0.85], size=(len(jobs), 2))

    def one(i):
        word, voice = jobs[i]
        return synthesise(word, voice, *params[i])

    with ThreadPoolExecutor(workers) as pool:
        clips = list(progress(pool.map(one, range(len(jobs))), total=len(jobs), desc="synthesising"))
    keep = [i for i, c in enumerate(clips) if len(c) >= TRIM_FRAME]
    lengths = np.array([len(clips[i]) for i in keep])
    return {"audio": np.concatenate([(np.clip(clips[i], -1, 1) * 32767).astype(np.int16) for i in keep]),
            "offsets": np.concatenate([[0], np.cumsum(lengths)]),
            "word": np.array([jobs[i][0] for i in keep]),
            "voice": np.array([jobs[i][1].tag for i in keep]),
            "held_out": np.array([jobs[i][1].held_out for i in keep])}


def load_or_build(path: Path, **kwargs) -> dict:
    """The corpus cached as .npz (large: under /work/data/kws, never in git)."""
    if path.is_file():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    corpus = build_corpus(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **corpus)
    return corpus


def clip(corpus: dict, i: int) -> np.ndarray:
    a, b = corpus["offsets"][i], corpus["offsets"][i + 1]
    return corpus["audio"][a:b].astype(np.float32) / 32768.0
