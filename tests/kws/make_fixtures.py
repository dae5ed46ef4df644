"""Rebuilds tests/kws/fixtures: short 16 kHz clips from held-out voices (never in training).

    .venv/bin/python -m tests.kws.make_fixtures

Keyword clips: 0.5 s of quiet noise, the word, 1.2 s of noise. Negatives: noise alone
and ordinary words (not commands) from held-out voices. The manifest names the truth.
"""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np

from training.kws.synth import SAMPLE_RATE, Voice, synthesise

HERE = Path(__file__).parent / "fixtures"
KEYWORD_CLIPS = [("unlock", Voice("espeak", "en-029", "m5")), ("stop", Voice("espeak", "en-gb-x-gbcwmd", "f3")),
                 ("left", Voice("flite", "rms")), ("yes", Voice("espeak", "en-us", "f3")),
                 ("down", Voice("espeak", "en-029", "m1")), ("off", Voice("espeak", "en-gb-x-gbcwmd", "m2"))]
NEGATIVE_WORDS = ("window", "basket", "morning", "seven", "paper")
NOISE_RMS = 0.003
LEAD_S, TAIL_S = 0.5, 1.2


def write_wav(path: Path, x: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


def in_noise(parts: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    pieces, ends, t = [rng.standard_normal(int(LEAD_S * SAMPLE_RATE)) * NOISE_RMS], [], LEAD_S
    for p in parts:
        t += len(p) / SAMPLE_RATE
        ends.append(round(t, 3))
        gap = rng.standard_normal(int(0.3 * SAMPLE_RATE)) * NOISE_RMS
        pieces += [0.5 * p / np.abs(p).max() + rng.standard_normal(len(p)) * NOISE_RMS, gap]
        t += 0.3
    pieces.append(rng.standard_normal(int(TAIL_S * SAMPLE_RATE)) * NOISE_RMS)
    return np.concatenate(pieces).astype(np.float32), ends


def main() -> None:
    rng = np.random.default_rng(7)
    HERE.mkdir(exist_ok=True)
    manifest = {}
    for word, voice in KEYWORD_CLIPS:
        x, ends = in_noise([synthesise(word, voice, 1.0, 0.5)], rng)
        name = f"{word}_{voice.name}_{voice.variant or 'default'}.wav"
        write_wav(HERE / name, x)
        manifest[name] = {"keyword": word, "voice": voice.tag, "word_end_s": ends[0]}
    speech, _ = in_noise([synthesise(w, Voice("espeak", "en-029", "f3"), 1.0, 0.5) for w in NEGATIVE_WORDS], rng)
    write_wav(HERE / "speech_not_commands.wav", speech)
    manifest["speech_not_commands.wav"] = {"keyword": None, "words": list(NEGATIVE_WORDS)}
    write_wav(HERE / "noise.wav", (rng.standard_normal(3 * SAMPLE_RATE) * 0.02).astype(np.float32))
    manifest["noise.wav"] = {"keyword": None}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
