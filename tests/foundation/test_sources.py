import time

import numpy as np
import pytest

from pipeline.errors import InputError, SourceError
from pipeline.sources.audio import LinearResampler, MicrophoneConfig, MicrophoneSource, WavConfig, WavSource, read_wav
from pipeline.sources.synthetic import (SyntheticAudioConfig, SyntheticAudioSource, SyntheticSensorConfig,
                                        SyntheticSensorSource, SyntheticVideoConfig, SyntheticVideoSource)
from pipeline.sources.video import VideoConfig, VideoSource
from tests.foundation.media import frame_level, write_video, write_wav


def drain(source, limit=10_000, timeout=2.0):
    items = []
    while len(items) < limit:
        item = source.get(timeout)
        if item is None:
            if source.finished.is_set():
                break
            continue
        items.append(item)
    return items


def test_video_file_asap_replay_loses_nothing(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=40)
    source = VideoSource(VideoConfig(uri=str(path), pace="asap")).start()
    levels = [frame_level(item.data) for item in drain(source)]
    source.stop()
    assert levels == list(range(40))
    assert source.stats()["dropped"] == 0 and source.counters["read"] == 40


def test_video_realtime_keeps_only_the_newest_frame(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=30, fps=60.0)
    source = VideoSource(VideoConfig(uri=str(path), pace="realtime")).start()
    time.sleep(0.8)  # consumer busy elsewhere: the source must not queue
    item = source.get(1.0)
    source.stop()
    stats = source.stats()
    assert stats["read"] == 30 and stats["dropped"] >= 25
    assert frame_level(item.data) >= 25  # what we get is recent, not the first frame


def test_a_file_replays_at_its_own_rate_whatever_the_configured_camera_rate(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=10, fps=20.0)
    source = VideoSource(VideoConfig(uri=str(path), pace="asap", fps=5.0)).start()
    stamps = [item.timestamp for item in drain(source)]
    assert stamps == pytest.approx([(i + 1) / 20.0 for i in range(10)])  # 20 fps, the file's, not 5


def test_corrupt_frames_are_counted_and_skipped(tmp_path):
    source = VideoSource(VideoConfig(uri=str(tmp_path / "x.avi")))
    good = np.zeros((120, 160, 3), np.uint8)
    assert source._valid(good)
    assert not source._valid(np.zeros((60, 80, 3), np.uint8))   # other size than the stream
    assert not source._valid(np.zeros((120, 160, 3), np.float32))
    assert not source._valid(None)


def test_missing_camera_is_retried_with_backoff_and_explained():
    source = VideoSource(VideoConfig(uri="7", reconnect_initial_s=0.02, reconnect_max_s=0.05)).start()
    time.sleep(0.4)
    assert source.alive  # still trying, never dead
    source.stop()
    assert source.counters["reconnects"] >= 2
    assert "cannot open video '7'" in source.last_error and "--video" in source.last_error


def test_missing_video_file_is_an_error_not_a_retry(tmp_path):
    path = tmp_path / "late.avi"
    source = VideoSource(VideoConfig(uri=str(path), pace="asap", reconnect_initial_s=0.05,
                                     reconnect_max_s=0.1)).start()
    assert source.finished.wait(5)   # a file is not waited for: issue 14
    with pytest.raises(SourceError, match="video file not found"):
        source.get(0.1)
    source.stop()
    assert source.counters["reconnects"] == 0 and not source.alive


def test_looping_replay_restarts(tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=5)
    source = VideoSource(VideoConfig(uri=str(path), pace="asap", loop=True)).start()
    items = drain(source, limit=12)
    source.stop()
    assert [frame_level(i.data) for i in items][:12] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert source.counters["loops"] >= 2


def test_wav_replay_resamples_and_downmixes(tmp_path):
    t = np.arange(8000) / 8000
    path = write_wav(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 200 * t), 8000, channels=2)
    source = WavSource(WavConfig(path=str(path), pace="asap", block_ms=20)).start()
    items = drain(source)
    source.stop()
    audio = np.concatenate([i.data.copy() for i in items])
    assert abs(len(audio) - 16000) <= 2 and source.counters["resampled_from_hz"] == 8000
    assert items[0].data.dtype == np.float32 and np.abs(audio).max() == pytest.approx(0.5, abs=0.02)


def test_linear_resampler_is_continuous_across_blocks():
    x = np.sin(np.arange(4000) / 20).astype(np.float32)
    whole = LinearResampler(8000, 16000)(x)
    r = LinearResampler(8000, 16000)
    parts = np.concatenate([r(x[i:i + 333]) for i in range(0, 4000, 333)])
    assert abs(len(parts) - len(whole)) <= 1
    n = min(len(parts), len(whole))
    assert np.abs(parts[:n] - whole[:n]).max() < 1e-5


def test_bad_wav_files_get_clear_errors(tmp_path):
    with pytest.raises(InputError, match="audio file not found"):
        read_wav(tmp_path / "none.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(InputError, match="not a readable audio file"):
        read_wav(bad)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0), 16000)
    source = WavSource(WavConfig(path=str(empty), pace="asap")).start()
    assert source.finished.wait(5)
    with pytest.raises(InputError, match="contains no audio samples"):
        drain(source)
    assert source.counters["reconnects"] == 0


def test_microphone_that_does_not_exist_is_named():
    pytest.importorskip("sounddevice", reason="sounddevice / libportaudio2 not installed")
    source = MicrophoneSource(MicrophoneConfig(device="no-such-mic", reconnect_initial_s=0.05))
    with pytest.raises(SourceError, match="audio input device 'no-such-mic' not found"):
        source._open()


def test_synthetic_sources_deliver_through_the_same_interface():
    video = SyntheticVideoSource(SyntheticVideoConfig(width=64, height=48, fps=100, frames=5)).start()
    audio = SyntheticAudioSource(SyntheticAudioConfig(seconds=0.1, block_ms=10)).start()
    sensor = SyntheticSensorSource(SyntheticSensorConfig(channels=["ax", "ay"], samples=20, rate_hz=500,
                                                         block=5)).start()
    frames, blocks, samples = drain(video), drain(audio), drain(sensor)
    for s in (video, audio, sensor):
        s.stop()
    assert frames and frames[-1].data.shape == (48, 64, 3)
    assert sum(len(b.data) for b in blocks) == 1600
    assert sum(len(b.data) for b in samples) == 20 and samples[0].data.shape[1] == 2
