"""Audio sources: a sounddevice microphone and audio-file replay (soundfile), both imported lazily.

Samples go into a ring buffer allocated once; the consumer reads fixed blocks
in order. Audio is delivered mono float32 in [-1, 1] at ``sample_rate``,
downmixed from any channel count and resampled when the device or file has
another rate. A file is streamed block by block, so its length is not limited
by memory. Files: whatever libsndfile reads (WAV PCM 8/16/24/32-bit, 32/64-bit
float, WAVE_FORMAT_EXTENSIBLE, FLAC, OGG, AIFF ...).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config.loader import option
from pipeline.errors import InputError, SourceError
from pipeline.ringbuffer import RingBuffer
from pipeline.sources.base import SOURCES, EndOfStream, Item, ReplayOptions, Source, SourceConfig


@dataclass(kw_only=True)
class AudioOptions:
    sample_rate: int = option(16000, "Rate delivered to the pipeline; other rates are resampled.")
    block_ms: float = option(20.0, "Samples per delivered block, in milliseconds.")
    buffer_s: float = option(2.0, "Ring buffer length; a consumer further behind loses the oldest audio.")


class LinearResampler:
    """Streaming linear-interpolation resampler that keeps its phase between blocks."""

    def __init__(self, rate_in: int, rate_out: int):
        self.step = rate_in / rate_out
        self._pos = 0.0          # position of the next output sample, in input samples
        self._last = np.zeros(1, dtype=np.float32)  # previous block's last sample

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.step == 1.0 or not len(block):
            return block
        x = np.concatenate([self._last, block])  # x[0] is input sample index -1
        positions = np.arange(self._pos, len(block) - 1 + 1e-9, self.step)
        out = np.interp(positions + 1, np.arange(len(x)), x).astype(np.float32)
        self._pos = (positions[-1] + self.step - len(block)) if len(positions) else self._pos - len(block)
        self._last = block[-1:].copy()
        return out


def to_mono_float(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) int or float PCM -> (n,) float32 in [-1, 1]."""
    x = samples.astype(np.float32)
    if samples.dtype == np.uint8:
        x = (x - 128.0) / 128.0
    elif samples.dtype.kind == "i":
        x /= float(np.iinfo(samples.dtype).max + 1)
    return x.mean(axis=1) if x.ndim == 2 else x


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
    """A whole audio file as (mono float32 samples, sample rate), with clear errors."""
    with open_audio_file(path) as f:
        return read_block(f, path, f.frames), f.samplerate


class _AudioSource(Source):
    kind = "audio"

    def __init__(self, config, name: str = ""):
        super().__init__(config, name)
        self.sample_rate = config.sample_rate
        self.block = max(1, int(round(config.sample_rate * config.block_ms / 1000)))
        self._ring = RingBuffer(int(config.sample_rate * config.buffer_s) + self.block)
        self._out = np.zeros((self.block, 1), dtype=np.float32)
        self._delivered = 0

    def _get(self, timeout: float) -> Item | None:
        n = self._ring.read(self._out, timeout, partial=self.finished.is_set())
        if n == 0:
            return None
        start = self._delivered / self.sample_rate
        self._delivered += n
        return Item(self.next_seq(), time.monotonic(), self._out[:n, 0], start, {"source": self.name})

    def _end_delivery(self) -> None:
        if self.finished.is_set():
            self._ring.close()

    def stats(self) -> dict:
        return {**super().stats(), "overflowed_samples": self._ring.overflowed}


@dataclass(kw_only=True)
class WavConfig(SourceConfig, AudioOptions, ReplayOptions):
    path: str = option(doc="Audio file: WAV (PCM 8/16/24/32-bit, float, extensible), FLAC, OGG ...; any rate, "
                           "any channel count (downmixed), streamed so any length.")

    def check(self) -> str | None:
        return None if self.path else "path: required"


@SOURCES.register("wav", WavConfig)
class WavSource(_AudioSource):
    def __init__(self, config: WavConfig, name: str = ""):
        super().__init__(config, name)
        self._file = None
        self._resample: LinearResampler | None = None
        self._frames_per_read = 0
        self._pos = 0
        self._t0 = 0.0

    def _open(self) -> None:
        self._file = open_audio_file(self.config.path)
        rate = self._file.samplerate
        self._resample = LinearResampler(rate, self.sample_rate)
        self._frames_per_read = max(1, int(round(rate * self.config.block_ms / 1000)))
        self.counters["resampled_from_hz"] = rate if rate != self.sample_rate else 0
        self._pos = 0
        self._t0 = time.monotonic()
        self._ring.reopen()

    def _read_once(self) -> None:
        block = read_block(self._file, self.config.path, self._frames_per_read)
        if not len(block):
            if self._file.tell() == 0:   # the header promised samples that are not there
                raise InputError(f"{self.config.path}: contains no audio samples")
            raise EndOfStream
        chunk = self._resample(block)
        self._pos += len(chunk)
        if self.config.pace == "realtime":
            delay = self._t0 + self._pos / self.sample_rate - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        self._ring.write(chunk, wait=self.config.pace == "asap", stop=self._stop)
        self.counters["samples"] += len(chunk)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(kw_only=True)
class MicrophoneConfig(SourceConfig, AudioOptions):
    device: str = option("", "Input device name (substring) or index; empty for the system default.")


def input_device(name: str):
    """(sounddevice module, device, its info) for an input device name substring or index ("" is
    the system default); a clear SourceError naming the inputs there are if it does not exist."""
    try:
        import sounddevice as sd  # optional: perceive[audio]
    except (ImportError, OSError) as exc:
        raise SourceError(f"microphone unavailable: {exc} (install perceive[audio] and libportaudio2)")
    device = int(name) if name.isdigit() else (name or None)
    try:
        return sd, device, sd.query_devices(device, kind="input")
    except (ValueError, sd.PortAudioError) as exc:
        names = [d["name"] for d in sd.query_devices() if d["max_input_channels"] > 0]
        raise SourceError(f"audio input device '{name}' not found ({exc}); inputs here: {names}") from None


@SOURCES.register("microphone", MicrophoneConfig)
class MicrophoneSource(_AudioSource):
    live = True

    def __init__(self, config: MicrophoneConfig, name: str = ""):
        super().__init__(config, name)
        self._stream = None
        self._resample = None

    def _open(self) -> None:
        sd, device, info = input_device(self.config.device)
        rate = self.sample_rate
        try:
            sd.check_input_settings(device=device, samplerate=rate, channels=1, dtype="float32")
        except Exception:  # the device cannot do our rate: capture at its own and resample
            rate = int(info["default_samplerate"])
        self._resample = LinearResampler(rate, self.sample_rate)
        self.counters["device_rate_hz"] = rate
        self._stream = sd.InputStream(device=device, samplerate=rate, channels=1, dtype="float32",
                                      blocksize=int(rate * self.config.block_ms / 1000),
                                      callback=self._callback)
        self._stream.start()
        self._ring.reopen()

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.counters["overflows"] += 1
        block = self._resample(indata[:, 0])
        self._ring.write(block)
        self.counters["samples"] += len(block)   # at the delivered rate, as for WAV replay

    def _read_once(self) -> None:
        self._stop.wait(0.2)
        if self._stream is not None and not self._stream.active and not self._stop.is_set():
            raise SourceError("microphone stream stopped (device removed?)")

    def _close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # closing a vanished device may fail; nothing to recover
                pass
            self._stream = None
