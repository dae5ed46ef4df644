"""Audio files through soundfile (libsndfile, inside its wheel; imported lazily: perceive[audio]).

Whatever libsndfile reads: WAV PCM 8/16/24/32-bit, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE, FLAC,
OGG, AIFF ... Files are read block by block, so no length limit is needed; a file that cannot be
read gets one error naming it and the problem.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipeline.errors import InputError, SourceError

MIN_FILE_RATE_HZ = 1000     # below this a "sample rate" is a broken header, not audio
MAX_FILE_RATE_HZ = 768_000   # the highest rate audio interfaces record at
WAV_HEADER_SCAN_BYTES = 4096  # where a WAV's fmt chunk is looked for to explain a refused header


def _soundfile():
    try:
        import soundfile  # optional: perceive[audio]; libsndfile comes inside its wheel
    except (ImportError, OSError) as exc:
        raise SourceError(f"reading audio files needs soundfile: install perceive[audio] ({exc})") from None
    return soundfile


def open_audio_file(path: str | Path):
    """An open ``soundfile.SoundFile`` with at least one sample at a sane rate, or one clear error
    naming the file and the problem."""
    sf = _soundfile()
    if not os.path.exists(path):
        raise InputError(f"audio file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not an audio file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: is empty (0 bytes), not an audio file")
    try:
        f = sf.SoundFile(str(path))
    except sf.SoundFileError as exc:   # also libsndfile's errors (format not recognised, ...)
        rate = _wav_header_rate(path)
        why = f"its header gives a sample rate of {rate} Hz" if rate == 0 else _first_line(exc)
        raise InputError(f"{path}: not a readable audio file ({why})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from None
    problem = _file_problem(f)
    if problem:
        f.close()
        raise InputError(f"{path}: {problem}")
    return f


def _file_problem(f) -> str:
    if not MIN_FILE_RATE_HZ <= f.samplerate <= MAX_FILE_RATE_HZ:
        return (f"sample rate {f.samplerate} Hz is not audio "
                f"(supported {MIN_FILE_RATE_HZ}-{MAX_FILE_RATE_HZ} Hz, resampled)")
    if f.channels < 1:
        return "no audio channels"
    if f.frames == 0:
        return "contains no audio samples"
    return ""


def _wav_header_rate(path) -> int | None:
    """The sample rate a RIFF/WAVE header states (to explain what libsndfile refused), or None."""
    with open(path, "rb") as f:
        head = f.read(WAV_HEADER_SCAN_BYTES)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    at = head.find(b"fmt ", 12)
    if at < 0 or len(head) < at + 16:
        return None
    return int.from_bytes(head[at + 12:at + 16], "little")  # after id, size, format tag, channels


def _first_line(exc: Exception) -> str:
    """libsndfile's own words (without soundfile's "Error opening 'path': " prefix), on one line."""
    text = (getattr(exc, "error_string", None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_block(f, path, frames: int) -> np.ndarray:
    """The next ``frames`` frames of an open file as mono float32 (fewer at the end), checked finite."""
    sf = _soundfile()
    position = f.tell() / f.samplerate
    try:
        block = f.read(frames, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: read failed at {position:.2f} s ({_first_line(exc)})") from None
    mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    finite = np.isfinite(mono)
    if not finite.all():
        at = position + int(np.argmin(finite)) / f.samplerate
        raise InputError(f"{path}: contains NaN or infinite samples (from {at:.3f} s)")
    return mono


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A whole audio file as (mono float32 samples, sample rate), with clear errors. Read in blocks, so
    memory follows the data there is, not a header's claim."""
    with open_audio_file(path) as f:
        blocks = []
        while len(block := read_block(f, path, f.samplerate)):
            blocks.append(block)
        if not blocks:   # the header promised samples that are not there
            raise InputError(f"{path}: contains no audio samples")
        return np.concatenate(blocks), f.samplerate
