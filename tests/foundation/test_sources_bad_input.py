"""Issue 14: a file that cannot be read is an error, never a reopen loop; a live device is reopened.

The supervisor is tested with a scripted fake source; audio files of every format the README
promises are written at test time with soundfile; bad files are made byte by byte.
"""
from __future__ import annotations

import queue
import re
import struct
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from pipeline.errors import InputError, SourceError
from pipeline.sources.base import EndOfStream, Item, ReplayOptions, Source, SourceConfig
from pipeline.sources.sensor import MAX_LINE_CHARS, SampleValidator, SensorFileConfig, SensorFileSource, parse_line

sf = pytest.importorskip("soundfile", reason="soundfile (perceive[audio]) not installed")
from pipeline.sources.audio import ASAP_READ_S, LinearResampler, WavConfig, WavSource, read_wav  # noqa: E402

WAIT_S = 10.0   # far above the few milliseconds these take; only a hang reaches it


@dataclass(kw_only=True)
class FakeConfig(SourceConfig, ReplayOptions):
    pass


class ScriptedSource(Source):
    """Fails its first ``open_failures`` opens, then delivers ``items`` items per open and ends with
    ``then`` ("fail", "end" or "bug"). ``attempted`` is set once ``attempts_wanted`` opens were tried."""

    def __init__(self, *, live: bool, open_failures=0, items=0, then="fail", attempts_wanted=3, **config):
        super().__init__(FakeConfig(type="fake", reconnect_initial_s=0.001, reconnect_max_s=0.002, **config))
        self.live = live
        self.open_failures, self.items, self.then = open_failures, items, then
        self.attempts, self.attempts_wanted = 0, attempts_wanted
        self.attempted = threading.Event()
        self._queue: queue.Queue[Item] = queue.Queue()
        self._left = 0

    def _open(self) -> None:
        self.attempts += 1
        if self.attempts >= self.attempts_wanted:
            self.attempted.set()
        if self.attempts <= self.open_failures:
            raise SourceError("cannot open fake device")
        self._left = self.items

    def _read_once(self) -> None:
        if self._left:
            self._left -= 1
            self.counters["samples"] += 1
            self._queue.put(Item(self.next_seq(), time.monotonic(), np.zeros(1)))
            return
        self._stop.wait(0.001)
        if self.then == "end":
            raise EndOfStream
        if self.then == "bug":
            raise ZeroDivisionError("a bug in the reader")
        raise OSError(5, "Input/output error")

    def _get(self, timeout: float) -> Item | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


def test_a_live_device_that_goes_away_is_reopened():
    source = ScriptedSource(live=True, items=2, then="fail").start()
    assert source.attempted.wait(WAIT_S)
    source.stop()
    assert source.counters["opened"] >= 2 and source.counters["reconnects"] >= 2
    assert source.error is None and "Input/output error" in source.last_error


def test_a_live_device_missing_at_start_is_waited_for_only_when_asked():
    waited = ScriptedSource(live=True, open_failures=2, items=1, then="end", attempts_wanted=3).start()
    assert waited.get(WAIT_S) is not None   # it appeared on the third try and delivered
    waited.stop()
    assert waited.counters["reconnects"] >= 2 and waited.error is None

    refused = ScriptedSource(live=True, open_failures=99, wait_for_device=False).start()
    assert refused.finished.wait(WAIT_S)
    with pytest.raises(SourceError, match="cannot open fake device"):
        refused.get(0.01)
    assert refused.counters["reconnects"] == 0 and refused.attempts == 1


def test_a_file_that_cannot_be_opened_is_an_error_at_once():
    source = ScriptedSource(live=False, open_failures=99).start()
    assert source.finished.wait(WAIT_S)
    with pytest.raises(SourceError, match="cannot open fake device"):
        source.get(0.01)
    assert source.attempts == 1 and source.counters["reconnects"] == 0 and not source.alive


def test_a_file_that_fails_mid_read_delivers_what_it_read_then_the_error():
    source = ScriptedSource(live=False, items=3, then="fail").start()
    assert source.finished.wait(WAIT_S)
    assert [source.get(0.01).seq for _ in range(3)] == [1, 2, 3]   # nothing read before is lost
    with pytest.raises(SourceError, match="fake: .*Input/output error"):
        source.get(0.01)
    assert source.counters["reconnects"] == 0


def test_a_bug_in_a_file_reader_keeps_its_type_and_is_not_retried():
    source = ScriptedSource(live=False, items=0, then="bug").start()
    assert source.finished.wait(WAIT_S)
    with pytest.raises(ZeroDivisionError):
        source.get(0.01)
    assert source.attempts == 1


def test_a_looping_replay_that_played_is_reopened_after_a_failure():
    source = ScriptedSource(live=False, items=1, then="fail", loop=True).start()
    assert source.attempted.wait(WAIT_S)
    source.stop()
    assert source.counters["reconnects"] >= 2 and source.error is None


def test_a_looping_replay_with_nothing_to_replay_backs_off_instead_of_spinning():
    source = ScriptedSource(live=False, items=0, then="end", loop=True).start()
    assert source.attempted.wait(WAIT_S)
    source.stop()
    assert source.counters["loops"] == 0 and source.counters["reconnects"] >= 2
    assert "nothing to replay" in source.last_error
    looping = ScriptedSource(live=False, items=2, then="end", loop=True).start()
    assert looping.attempted.wait(WAIT_S)
    looping.stop()
    assert looping.counters["loops"] >= 2 and looping.counters["reconnects"] == 0


# -- audio files ---------------------------------------------------------------------------------

def sine(n: int, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / rate)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_wav_sample_format_reads_to_the_same_signal(tmp_path, subtype):
    x = sine(1600, 16000)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, 16000, subtype=subtype)
    samples, rate = read_wav(path)
    tolerance = 2 / 128 if subtype == "PCM_U8" else 1e-4
    assert rate == 16000 and samples.dtype == np.float32
    assert np.abs(samples - x).max() < tolerance


def test_extensible_multichannel_44k_and_flac_are_downmixed_and_resampled_as_a_stream(tmp_path):
    x = sine(44100, 44100)
    channels = np.stack([x, x, -x, -x, x, x], axis=1)   # 6 channels averaging to x / 3
    extensible = tmp_path / "six.wav"
    sf.write(extensible, channels, 44100, format="WAVEX", subtype="PCM_24")
    flac = tmp_path / "mono.flac"
    sf.write(flac, x, 44100)
    whole = LinearResampler(44100, 16000)(x.astype(np.float32))
    for path, gain in ((extensible, 1 / 3), (flac, 1.0)):
        source = WavSource(WavConfig(path=str(path), pace="asap")).start()
        blocks = []
        while (item := source.get(WAIT_S)) is not None:
            blocks.append(item.data.copy())
        source.stop()
        streamed = np.concatenate(blocks)
        assert len(blocks) > 40   # delivered in 20 ms blocks
        assert abs(len(streamed) - len(whole)) <= 1 and source.counters["resampled_from_hz"] == 44100
        n = min(len(streamed), len(whole))
        assert np.abs(streamed[:n] - gain * whole[:n]).max() < 1e-3


def test_a_long_file_is_read_only_as_far_as_the_consumer_takes_it(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, sine(16000 * 60, 16000), 16000, subtype="PCM_16")   # one minute
    source = WavSource(WavConfig(path=str(path), pace="asap", buffer_s=2.0)).start()
    first = source.get(WAIT_S)
    time.sleep(0.5)   # asserting that something does NOT happen needs a window; reading it whole takes < 0.1 s
    position = source._file.tell()   # frames read from the file so far
    source.stop()
    assert first is not None and position <= 16000 * (2.0 + 2 * ASAP_READ_S)   # the ring + a read or two


def wav_bytes(rate: int = 16000, n: int = 160) -> bytes:
    data = (sine(n, 16000) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


BAD_AUDIO = {   # file name -> (contents, what the one-line error says)
    "zero.wav": (b"", "is empty (0 bytes)"),
    "rate0.wav": (wav_bytes(rate=0), "sample rate of 0 Hz"),
    "rate1.wav": (wav_bytes(rate=1), "sample rate 1 Hz is not audio"),
    "header_only.wav": (wav_bytes()[:44], "contains no audio samples"),
    "picture.wav": (b"\x89PNG\r\n\x1a\n" + bytes(200), "not a readable audio file (Format not recognised"),
}


@pytest.mark.parametrize("name", sorted(BAD_AUDIO))
def test_a_bad_audio_file_is_one_clear_error_not_a_retry(tmp_path, name):
    contents, message = BAD_AUDIO[name]
    path = tmp_path / name
    path.write_bytes(contents)
    with pytest.raises(InputError, match=f"{re.escape(name)}: .*{re.escape(message)}"):
        read_wav(path)
    source = WavSource(WavConfig(path=str(path), pace="asap")).start()
    assert source.finished.wait(WAIT_S)
    with pytest.raises(InputError, match=name):
        source.get(0.01)
    assert source.counters["reconnects"] == 0


def test_nan_in_a_float_wav_is_named_with_its_time(tmp_path):
    x = sine(16000, 16000).astype(np.float32)
    x[8005] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    source = WavSource(WavConfig(path=str(path), pace="asap")).start()
    delivered = 0
    with pytest.raises(InputError, match=r"nan.wav: contains NaN or infinite samples \(from 0.500 s\)"):
        while (item := source.get(WAIT_S)) is not None:
            delivered += len(item.data)
    assert delivered == 8000   # the 20 ms blocks before the NaN's were delivered, nothing after


def test_odd_length_and_truncated_wavs_play_what_they_hold(tmp_path):
    odd = tmp_path / "odd.wav"
    odd.write_bytes(wav_bytes() + b"\x01")   # a stray byte after the data chunk
    assert len(read_wav(odd)[0]) == 160
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(wav_bytes(n=1600)[:44 + 1000])   # the header promises more than is there
    assert len(read_wav(truncated)[0]) == 500


# -- sensor lines --------------------------------------------------------------------------------

def test_a_value_that_overflows_float32_is_non_finite():
    validator = SampleValidator(["x"], "t", 0.0, 0.2)
    assert validator.check({"t": "0.0", "x": "1e39"})[0] == "non_finite"
    assert validator.check({"t": "0.1", "x": "3e38"})[0] is None


def test_an_overlong_sensor_line_is_counted_and_skipped_in_bounded_pieces(tmp_path):
    path = tmp_path / "long.csv"
    good = [f"{i / 10:.1f},{i}" for i in range(20)]
    monster = "9" * (50 * MAX_LINE_CHARS)   # 3.2 M characters on one line
    path.write_text("\n".join(["t,x", *good[:10], monster, *good[10:], monster]))   # the last has no newline
    source = SensorFileSource(SensorFileConfig(path=str(path), channels=["x"], pace="asap")).start()
    values = []
    while (item := source.get(WAIT_S)) is not None:
        values.extend(item.data[:, 0].tolist())
    source.stop()
    assert values == list(range(20))
    assert source.counters["rejected_too_long"] == 2 and source.counters["lines"] == 22


def test_json_that_breaks_the_parser_is_a_rejected_line_not_a_crash():
    assert parse_line("[" * 5000, "ndjson", []) is None                         # nesting past the recursion limit
    assert parse_line('{"t": 0, "x": ' + "1" * 5000 + "}", "ndjson", []) is None  # past int digit limit
    validator = SampleValidator(["x"], "t", 0.0, 0.2)
    assert validator.check(parse_line('{"t": 0, "x": 1' + "0" * 400 + "}", "ndjson", []))[0] == "non_finite"
