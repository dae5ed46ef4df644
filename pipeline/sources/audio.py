"""Audio sources: a sounddevice microphone and audio-file replay (soundfile), both imported lazily.

Samples go into a ring buffer allocated once, stamped with their capture time as they are written
(a microphone's ADC time when the driver gives it); the consumer reads fixed blocks in order, each
carrying the capture time of its last sample, so latency includes the wait in the buffer. Audio is delivered mono float32 in [-1, 1] at ``sample_rate``,
downmixed from any channel count and resampled when the device or file has
another rate. A file is streamed block by block (``audio_file``), so its length
is not limited by memory.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
import numpy as np

from pipeline.config.loader import option
from pipeline.errors import InputError, SourceError
from pipeline.ringbuffer import RingBuffer
from pipeline.sources.audio_file import open_audio_file, read_block, read_wav  # noqa: F401 (read_wav: API)
from pipeline.sources.base import SOURCES, EndOfStream, Item, ReplayOptions, Source, SourceConfig, StreamInfo


MIN_SAMPLE_RATE = 1000      # no speech or sound model takes less
MAX_SAMPLE_RATE = 384_000   # the fastest audio interfaces
MAX_BLOCK_MS = 1000.0       # a longer block is a second of latency before anything is seen
MAX_BUFFER_S = 60.0         # 92 MB of float32 at the highest rate
MAX_ADC_AGE_S = 1.0         # a device clock claiming a block older than this is wrong, not slow


@dataclass(kw_only=True)
class AudioOptions:
    sample_rate: int = option(16000, "Rate delivered to the pipeline; other rates are resampled.",
                              at_least=MIN_SAMPLE_RATE, at_most=MAX_SAMPLE_RATE)
    block_ms: float = option(20.0, "Samples per delivered block, in milliseconds.", above=0, at_most=MAX_BLOCK_MS)
    buffer_s: float = option(2.0, "Ring buffer length; a consumer further behind loses the oldest audio.",
                             above=0, at_most=MAX_BUFFER_S)


AUDIO_CHANNELS = ("mono",)   # every audio source downmixes


def audio_stream(config: AudioOptions) -> StreamInfo:
    """Mono blocks at ``sample_rate``; stateful (streaming features and models): never skipped or resized."""
    block = max(1, int(round(config.sample_rate * config.block_ms / 1000)))
    return StreamInfo("audio", float(config.sample_rate), AUDIO_CHANNELS, block, droppable=False, resizable=False)


def adc_capture_time(now: float, time_info, frames: int, rate: int) -> float:
    """time.monotonic() at which the last sample of a PortAudio input block was captured.

    PortAudio gives the ADC time of the block's first sample and the current time on its own stream
    clock; their difference (plus the block's length) is how long ago the last sample was captured.
    Host APIs that report no times (zeros) or inconsistent ones get ``now``, the callback's time.
    """
    adc = getattr(time_info, "inputBufferAdcTime", 0.0) or 0.0
    current = getattr(time_info, "currentTime", 0.0) or 0.0
    if adc <= 0 or current <= 0 or rate <= 0:
        return now
    ago = current - (adc + (frames - 1) / rate)
    return now - ago if 0 <= ago <= MAX_ADC_AGE_S else now


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


class _AudioSource(Source):
    kind = "audio"

    def __init__(self, config, name: str = ""):
        super().__init__(config, name)
        self.sample_rate = config.sample_rate
        self.block = max(1, int(round(config.sample_rate * config.block_ms / 1000)))
        self._ring = RingBuffer(int(config.sample_rate * config.buffer_s) + self.block)
        self._out = np.zeros((self.block, 1), dtype=np.float32)
        self._delivered = 0

    @classmethod
    def describe(cls, config: AudioOptions) -> StreamInfo:
        return audio_stream(config)

    def _get(self, timeout: float) -> Item | None:
        n, captured_at = self._ring.read_stamped(self._out, timeout, partial=self.finished.is_set())
        if n == 0:
            return None
        start = self._delivered / self.sample_rate
        self._delivered += n
        return Item(self.next_seq(), captured_at, self._out[:n, 0], start, {"source": self.name})

    def _end_delivery(self) -> None:
        if self.finished.is_set():
            self._ring.close()

    def stats(self) -> dict:
        return {**super().stats(), "overflowed_samples": self._ring.overflowed}


ASAP_READ_S = 0.5   # as-fast-as-possible replay reads this much per call: half the CPU of 20 ms reads


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
        read_s = self.config.block_ms / 1000 if self.config.pace == "realtime" else ASAP_READ_S
        self._frames_per_read = max(1, int(round(rate * read_s)))
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
        self._device_rate = 0

    def _open(self) -> None:
        sd, device, info = input_device(self.config.device)
        rate = self.sample_rate
        try:
            sd.check_input_settings(device=device, samplerate=rate, channels=1, dtype="float32")
        except Exception:  # the device cannot do our rate: capture at its own and resample
            rate = int(info["default_samplerate"])
        self._resample = LinearResampler(rate, self.sample_rate)
        self.counters["device_rate_hz"] = rate
        self._device_rate = rate
        self._stream = sd.InputStream(device=device, samplerate=rate, channels=1, dtype="float32",
                                      blocksize=int(rate * self.config.block_ms / 1000),
                                      callback=self._callback)
        self._stream.start()
        self._ring.reopen()

    def _callback(self, indata, frames, time_info, status) -> None:
        captured_at = adc_capture_time(time.monotonic(), time_info, frames, self._device_rate)
        if status.input_overflow:
            self.counters["overflows"] += 1
        block = self._resample(indata[:, 0])
        self._ring.write(block, captured_at=captured_at)
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
