"""Rebuilds tests/kws/fixtures/real: a few real Speech Commands clips of HELD-OUT speakers
(training/kws/real.py: never trained or tuned on), as WAV, with their CC-BY-4.0 attribution, and
one held-out recording of the wake phrase (picovoice wake-word benchmark, Apache-2.0).

    .venv/bin/python -m tests.kws.make_real_fixtures

The clips are fixed by rule, not by how a model does on them: for each word below, the first clip
(in file-name order) of a held-out speaker; each is padded with ``PAD_S`` of silence after it, so
the keyword's posterior has room to rise after the word.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.kws.make_fixtures import write_wav
from training.kws import real

HERE = Path(__file__).parent / "fixtures" / "real"
COMMANDS = ("yes", "stop", "go", "left", "right", "down")
OTHER_WORDS = ("bird", "four", "wow")
PAD_S = 0.6
WAKE_PHRASE = "computer"


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    held = [c for c in real.list_clips() if c.split == "held_out" and c.source == real.SPEECH_COMMANDS]
    manifest, rows = {}, []
    for word in COMMANDS + OTHER_WORDS:
        clip = next(c for c in held if c.word == word)
        x = np.concatenate([real.read(clip.path), np.zeros(int(PAD_S * real.SAMPLE_RATE), np.float32)])
        name = f"{word}_{clip.speaker}.wav"
        write_wav(HERE / name, x)
        manifest[name] = {"keyword": word if word in COMMANDS else None, "speaker": clip.speaker}
        rows.append(f"{name}: speech_commands_v0.02 test split, "
                    f"{clip.path.relative_to(clip.path.parents[2])}, speaker {clip.speaker}")
    wake = next(c for c in real.list_clips() if c.split == "held_out" and c.word == WAKE_PHRASE)
    name = f"wake_{WAKE_PHRASE}.wav"
    write_wav(HERE / name, real.trim_to_word(real.read(wake.path)))
    manifest[name] = {"wake": WAKE_PHRASE, "keyword": None, "speaker": wake.speaker, "source": real.WAKE_WORDS}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (HERE / "ATTRIBUTION").write_text(
        "These clips are from Google Speech Commands v0.02 (test split), by Pete Warden, licensed under the\n"
        "Creative Commons Attribution 4.0 International licence (CC-BY-4.0,\n"
        "https://creativecommons.org/licenses/by/4.0/). Warden, P., \"Speech Commands: A Dataset for\n"
        "Limited-Vocabulary Speech Recognition\", arXiv:1804.03209, 2018.\n"
        f"Changes: converted from FLAC to 16-bit WAV and padded with {PAD_S:g} s of silence at the end.\n"
        "All speakers are in the held-out split of training/kws/real.py (never trained or tuned on).\n\n"
        + "\n".join(rows) + "\n\n"
        f"{name}: Picovoice wake-word benchmark (https://github.com/Picovoice/wake-word-benchmark, commit\n"
        f"84919190fb1891bf0936dcb577d9268e467f876f), audio/{WAKE_PHRASE}/{wake.path.stem}.wav, Apache License 2.0\n"
        "(https://www.apache.org/licenses/LICENSE-2.0); crowd-sourced, speaker not labelled; held out by\n"
        "file. Changes: trimmed to the spoken phrase, converted to 16-bit WAV.\n")


if __name__ == "__main__":
    main()
