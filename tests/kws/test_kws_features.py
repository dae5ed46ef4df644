"""The one log-mel implementation: training and the live stream compute identical features."""
import numpy as np
import pytest

import pipeline.skills.kws.features as audio
from pipeline.errors import InputError
from pipeline.skills.kws.features import StreamingLogMel, default_spec, frame_sizes, log_mel
from pipeline.sources.audio import WavConfig, WavSource, read_wav
from tests.kws.paths import FIXTURES

FLOAT_ROUNDING = 1e-5  # log-mel values are O(1-10); batch-size-dependent rounding is ~1e-6


def test_training_imports_the_runtime_features():
    data = pytest.importorskip("training.kws.data")  # scipy comes with the training extra
    assert data.log_mel is audio.log_mel and data.default_spec is audio.default_spec


def test_streaming_frames_equal_whole_clip_for_any_block_sizes():
    spec = default_spec()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16000 * 2) * 0.1).astype(np.float32)
    whole = log_mel(x, spec)
    stream = StreamingLogMel(spec)
    parts, pos = [], 0
    while pos < len(x):
        n = int(rng.integers(1, 700))
        parts.append(stream.push(x[pos:pos + n]))
        pos += n
    streamed = np.concatenate(parts)
    assert streamed.shape == whole.shape == (1 + (len(x) - 400) // 160, 40)
    # same computation, different batch sizes: equal up to float32 rounding of the FFT / matmul
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=FLOAT_ROUNDING)


def test_live_wav_source_path_gives_the_training_features():
    """The runtime path (WavSource blocks -> StreamingLogMel) == training's log_mel of the file."""
    path = FIXTURES / "unlock_en-029_m5.wav"
    samples, rate = read_wav(path)
    assert rate == 16000
    expected = log_mel(samples, default_spec())
    source = WavSource(WavConfig(path=str(path), pace="asap")).start()
    stream, frames = StreamingLogMel(default_spec()), []
    try:
        while (item := source.get(timeout=2.0)) is not None:
            frames.append(stream.push(item.data))
    finally:
        source.stop()
    np.testing.assert_allclose(np.concatenate(frames), expected, rtol=0, atol=FLOAT_ROUNDING)


def test_mel_features_follow_the_frequency_of_a_tone():
    spec = default_spec()
    t = np.arange(16000) / 16000
    peaks = [int(log_mel(np.sin(2 * np.pi * f * t).astype(np.float32) * 0.5, spec).mean(0).argmax())
             for f in (300, 1000, 3000, 6000)]
    assert peaks == sorted(peaks) and len(set(peaks)) == 4
    assert frame_sizes(spec) == (400, 160)


def test_short_clip_has_no_frames_and_bad_input_is_refused():
    spec = default_spec()
    assert log_mel(np.zeros(399, np.float32), spec).shape == (0, 40)
    with pytest.raises(InputError, match="NaN"):
        log_mel(np.full(1000, np.nan, np.float32), spec)
    with pytest.raises(InputError, match="mono"):
        log_mel(np.zeros((1000, 2), np.float32), spec)
    with pytest.raises(InputError, match="float"):
        log_mel(np.zeros(1000, np.int16), spec)
    with pytest.raises(InputError, match="8000 Hz"):
        audio.check_clip(np.zeros(1000, np.float32), spec, rate=8000)
