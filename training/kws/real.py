"""Real speech for training and judging the keyword spotter (``../shared/data/real/speech``).

Sources (see that folder's README; licences in the model card):
- Google Speech Commands v0.02 test-split clips (CC-BY-4.0, Warden 2018): the ten commands it holds
  and 25 other words (``_unknown_``); the speaker is the 8-hex prefix of the file name.
- picovoice wake-word benchmark (Apache-2.0): ``alexa computer jarvis smart_mirror snowboy view_glass``;
  speakers are not labelled, so these are split by file.
- picovoice speech-to-intent (Apache-2.0): continuous read speech with none of the commands in it.

Split rule (fixed, written here and in the card): a checksum of the speaker id (Speech Commands) or of
the file name (the others) puts each speaker or file in one of ``SPLIT_BUCKETS`` buckets; the first
``HELD_OUT_BUCKETS`` are held out (never trained or tuned on), the next ``TUNE_BUCKETS`` are for
choosing thresholds, the rest train. Continuous speech keeps more for measuring false accepts.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
REAL_SPEECH = Path(os.environ.get("PERCEIVE_REAL_DATA", Path(__file__).resolve().parents[2].parent
                                  / "shared" / "data" / "real")) / "speech"
SPEECH_COMMANDS = "speech_commands_v0.02_test"
WAKE_WORDS = "picovoice_wake_word_benchmark"
CONTINUOUS = "picovoice_speech_to_intent"
UNKNOWN_DIR = "_unknown_"
CONTINUOUS_WORD = "_speech_"      # the "word" of a continuous-speech file
SPLIT_BUCKETS = 20
HELD_OUT_BUCKETS = {SPEECH_COMMANDS: 5, WAKE_WORDS: 5, CONTINUOUS: 8}   # 25%, 25%, 40%
TUNE_BUCKETS = {SPEECH_COMMANDS: 3, WAKE_WORDS: 3, CONTINUOUS: 4}       # 15%, 15%, 20%
TRIM_FLOOR_DB = -30.0   # a clip is cut to the loud region around its peak frame (relative to that peak)
TRIM_GAP_FRAMES = 15    # quiet frames allowed inside that region (the closure in "computer")
TRIM_FRAME = 160


@dataclass(frozen=True)
class RealClip:
    path: Path
    source: str      # SPEECH_COMMANDS, WAKE_WORDS or CONTINUOUS
    word: str        # the spoken word ("bird" for an _unknown_ clip), wake word, or CONTINUOUS_WORD
    speaker: str     # speaker id (Speech Commands) or file stem (the others)
    split: str       # "train", "tune" or "held_out"


def split_of(source: str, key: str) -> str:
    bucket = zlib.crc32(key.encode()) % SPLIT_BUCKETS
    if bucket < HELD_OUT_BUCKETS[source]:
        return "held_out"
    return "tune" if bucket < HELD_OUT_BUCKETS[source] + TUNE_BUCKETS[source] else "train"


def available(root: Path = REAL_SPEECH) -> bool:
    return (root / SPEECH_COMMANDS).is_dir()


def list_clips(root: Path = REAL_SPEECH) -> list[RealClip]:
    """Every real clip with its word, speaker and split, in a fixed order."""
    if not available(root):
        raise FileNotFoundError(f"real speech not found at {root} (set PERCEIVE_REAL_DATA)")
    clips = []
    for path in sorted((root / SPEECH_COMMANDS).glob("*/*.flac")):
        folder = path.parent.name
        word, rest = (path.stem.split("_", 1) if folder == UNKNOWN_DIR else (folder, path.stem))
        speaker = rest.split("_")[0]
        clips.append(RealClip(path, SPEECH_COMMANDS, word, speaker, split_of(SPEECH_COMMANDS, speaker)))
    for path in sorted((root / WAKE_WORDS).glob("*/*.flac")):
        clips.append(RealClip(path, WAKE_WORDS, path.parent.name, path.stem, split_of(WAKE_WORDS, path.stem)))
    for path in sorted((root / CONTINUOUS).glob("*.flac")):
        clips.append(RealClip(path, CONTINUOUS, CONTINUOUS_WORD, path.stem, split_of(CONTINUOUS, path.stem)))
    return clips


def read(path: Path) -> np.ndarray:
    import soundfile
    x, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise ValueError(f"{path}: {rate} Hz, expected {SAMPLE_RATE}")
    return x.mean(axis=1)


def trim_to_word(x: np.ndarray) -> np.ndarray:
    """The loud region around the clip's loudest frame (short dips inside it kept): real clips carry
    up to a second of room noise, clicks and breaths, and a keyword's labels start where it ends."""
    n = len(x) // TRIM_FRAME
    if n == 0:
        return x
    energy = 10 * np.log10((x[:n * TRIM_FRAME].reshape(n, TRIM_FRAME) ** 2).mean(axis=1) + 1e-12)
    loud = energy > energy.max() + TRIM_FLOOR_DB
    peak = int(np.argmax(energy))
    lo = hi = peak
    while lo > 0 and loud[max(0, lo - TRIM_GAP_FRAMES):lo].any():
        lo = max(0, lo - TRIM_GAP_FRAMES) + int(np.flatnonzero(loud[max(0, lo - TRIM_GAP_FRAMES):lo])[0])
    while hi < n - 1 and loud[hi + 1:hi + 1 + TRIM_GAP_FRAMES].any():
        hi = hi + 1 + int(np.flatnonzero(loud[hi + 1:hi + 1 + TRIM_GAP_FRAMES])[-1])
    return x[lo * TRIM_FRAME:(hi + 1) * TRIM_FRAME]


def corpus(clips: list[RealClip], segment_s: float, words_as: dict[str, str] | None = None) -> dict:
    """Clips as a corpus in the synthesised corpus's format (training/kws/synth.py), each tagged with
    voice "real:<source>:<speaker>": single words trimmed to the word, continuous speech cut into
    ``segment_s`` pieces (negatives). ``words_as`` renames words (e.g. a wake phrase's folder name)."""
    audio, words, voices = [], [], []
    for c in clips:
        x = read(c.path)
        if c.source == CONTINUOUS:
            step = int(segment_s * SAMPLE_RATE)
            pieces = [x[i:i + step] for i in range(0, len(x) - step // 2, step)]
        else:
            pieces = [trim_to_word(x)]
        for p in pieces:
            if len(p) < TRIM_FRAME:
                continue
            audio.append((np.clip(p, -1, 1) * 32767).astype(np.int16))
            words.append((words_as or {}).get(c.word, c.word))
            voices.append(f"real:{c.source}:{c.speaker}")
    lengths = np.array([len(a) for a in audio])
    return {"audio": np.concatenate(audio), "offsets": np.concatenate([[0], np.cumsum(lengths)]),
            "word": np.array(words), "voice": np.array(voices), "held_out": np.zeros(len(audio), bool)}


def concat(a: dict, b: dict) -> dict:
    """Two corpora as one (b's offsets shifted after a's audio)."""
    return {"audio": np.concatenate([a["audio"], b["audio"]]),
            "offsets": np.concatenate([a["offsets"][:-1], b["offsets"] + a["offsets"][-1]]),
            **{k: np.concatenate([a[k], b[k]]) for k in ("word", "voice", "held_out")}}
