"""Streams that know what they are: every source describes its stream, audio and sensor blocks carry
the time they were captured (so latency includes the wait in the ring buffer), and budget policies
that make no sense for a stream are refused by config validation."""
from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline import assembly  # noqa: F401  (every source type registered)
from pipeline.cli.main import main
from pipeline.config.tree import load_config
from pipeline.errors import ConfigError
from pipeline.ringbuffer import RingBuffer
from pipeline.runtime.runner import BudgetPolicy, PipelineConfig, PipelineRunner
from pipeline.runtime.stage import StageContext, StageEnv
from pipeline.sources.audio import LinearResampler, MicrophoneConfig, MicrophoneSource, WavConfig, adc_capture_time
from pipeline.sources.base import SOURCES, StreamInfo, stream_of
from pipeline.sources.sensor import SensorFileConfig, SerialConfig, StdinConfig
from pipeline.sources.synthetic import SyntheticAudioConfig, SyntheticSensorConfig, SyntheticVideoConfig
from pipeline.sources.video import VideoConfig
from pipeline.stages.builtin import DelayConfig
from tests.foundation.media import write_wav

WAIT_S = 10.0        # far above what these take; only a hang reaches it
STAGE_MS = 5.0       # a spinning stage: items queue behind it in the ring buffer
RATE = 16000
IMU = ["ax", "ay", "az"]


# -- the description ---------------------------------------------------------------------------------
STREAMS = {
    "video": (VideoConfig(uri="clip.avi", fps=25.0), StreamInfo("video", 25.0, ("b", "g", "r"), 1, True, True)),
    "synthetic_video": (SyntheticVideoConfig(fps=12.5), StreamInfo("video", 12.5, ("b", "g", "r"), 1, True, True)),
    "wav": (WavConfig(path="a.wav", sample_rate=8000, block_ms=30),
            StreamInfo("audio", 8000.0, ("mono",), 240, False, False)),
    "microphone": (MicrophoneConfig(), StreamInfo("audio", 16000.0, ("mono",), 320, False, False)),
    "synthetic_audio": (SyntheticAudioConfig(sample_rate=22050, block_ms=10),
                        StreamInfo("audio", 22050.0, ("mono",), 220, False, False)),
    "sensor_file": (SensorFileConfig(path="imu.csv", channels=IMU, sample_rate_hz=50.0, block=16),
                    StreamInfo("sensor", 50.0, tuple(IMU), 16, False, False)),
    "serial": (SerialConfig(path="/dev/ttyUSB0", channels=IMU), StreamInfo("sensor", 0.0, tuple(IMU), 1, False, False)),
    "stdin": (StdinConfig(channels=["v"], block=4), StreamInfo("sensor", 0.0, ("v",), 4, False, False)),
    "synthetic_sensor": (SyntheticSensorConfig(channels=IMU, rate_hz=200.0, block=8),
                         StreamInfo("sensor", 200.0, tuple(IMU), 8, False, False)),
}


def test_every_registered_source_is_covered():
    assert set(SOURCES.entries) == set(STREAMS)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_source_describes_its_stream(name):
    config, expected = STREAMS[name]
    assert stream_of(config) == expected
    source = SOURCES.build(config, name)      # opening is not needed: the description comes from the config
    assert source.stream == expected and source.kind == expected.kind
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.stream.rate_hz = 1.0


def test_stages_get_a_frozen_context_with_the_stream():
    config, expected = STREAMS["wav"]
    context = StageEnv(pipeline="voice", source=config).context
    assert context == StageContext("voice", expected)
    assert StageEnv().context.stream is None   # built outside a pipeline: nothing to check against
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.stream = None


# -- capture stamps ----------------------------------------------------------------------------------
def test_ring_buffer_returns_the_capture_time_of_the_write_holding_the_last_sample():
    ring = RingBuffer(8)
    ring.write(np.ones(3), captured_at=10.0)      # samples 0-2
    ring.write(np.ones(4), captured_at=11.0)      # samples 3-6
    out = np.zeros((2, 1), np.float32)
    assert ring.read_stamped(out, 0) == (2, 10.0)   # samples 0-1: the first write
    assert ring.read_stamped(out, 0) == (2, 11.0)   # samples 2-3: 3 came with the second write
    assert ring.read_stamped(out, 0) == (2, 11.0)
    n, at = ring.read_stamped(out, 0)
    assert n == 0 and np.isnan(at)                  # one sample left, a block of two wanted
    ring.write(np.ones(9), captured_at=12.0)        # overflows: the oldest unread samples are lost
    assert ring.overflowed > 0
    assert ring.read_stamped(out, 0) == (2, 12.0)   # what is left all came with the last write


def test_a_write_without_a_time_is_stamped_when_it_is_written():
    ring = RingBuffer(4)
    before = time.monotonic()
    ring.write(np.ones(2))
    after = time.monotonic()
    n, at = ring.read_stamped(np.zeros((2, 1), np.float32), 0)
    assert n == 2 and before <= at <= after


def test_microphone_blocks_are_stamped_with_the_adc_time():
    # PortAudio clock: the block's first sample hit the ADC at 49.9 s, the callback runs at 50.0 s.
    frames = 320
    info = SimpleNamespace(inputBufferAdcTime=49.9, currentTime=50.0)
    last_sample_ago = 50.0 - (49.9 + (frames - 1) / RATE)
    assert adc_capture_time(100.0, info, frames, RATE) == pytest.approx(100.0 - last_sample_ago)
    for broken in (SimpleNamespace(inputBufferAdcTime=0.0, currentTime=0.0),   # host API gives no times
                   SimpleNamespace(inputBufferAdcTime=60.0, currentTime=50.0),  # "captured in the future"
                   SimpleNamespace(inputBufferAdcTime=1.0, currentTime=50.0),   # 49 s ago: a wrong clock
                   object()):
        assert adc_capture_time(100.0, broken, frames, RATE) == 100.0


def test_microphone_callback_puts_the_adc_time_on_the_delivered_block():
    """The callback path without sounddevice: what the consumer gets carries the ADC time."""
    source = MicrophoneSource(MicrophoneConfig(sample_rate=RATE, block_ms=20))
    source._resample, source._device_rate = LinearResampler(RATE, RATE), RATE
    info = SimpleNamespace(inputBufferAdcTime=7.0, currentTime=7.05)
    block = np.zeros((source.block, 1), np.float32)
    before = time.monotonic()
    source._callback(block, source.block, info, SimpleNamespace(input_overflow=False))
    item = source.get(0)
    ago = 7.05 - (7.0 + (source.block - 1) / RATE)
    assert item is not None and len(item.data) == source.block
    assert before - ago - 0.001 <= item.captured_at <= time.monotonic() - ago


def _asap_pipeline(source, budget_ms=0.0) -> PipelineRunner:
    config = PipelineConfig(name="p", source=source, budget_ms=budget_ms,
                            stages=[DelayConfig(ms=STAGE_MS, mode="spin")])
    return PipelineRunner(config, StageEnv())


def _run_after_the_source_wrote_everything(runner: PipelineRunner, blocks: int) -> None:
    """Let the source put everything into its ring buffer first, then take every block."""
    runner.source.start()
    assert runner.source.finished.wait(WAIT_S)
    for _ in range(blocks):
        runner.step(WAIT_S)
    assert runner.step(0) is None and runner.counters["items"] == blocks
    runner.stop()


def _assert_latency_includes_the_wait(runner: PipelineRunner, blocks: int) -> None:
    reports = list(runner.reports)
    assert len(reports) == blocks and runner.counters["dropped_stale"] == 0
    # Every block was in the buffer before the run started, and block k waited there while the k
    # blocks before it went through the stage: its age when taken is at least k stage times (stamped
    # when read, as before, every age would be about 0).
    for k, r in enumerate(reports):
        assert r.age_at_start_ms >= k * STAGE_MS, (k, r)
        assert r.e2e_ms >= r.age_at_start_ms + r.stage_ms["delay"]
    assert runner.e2e.summary().max_ms >= blocks * STAGE_MS


def test_audio_latency_includes_the_wait_in_the_ring_buffer(tmp_path):
    blocks = 25
    path = write_wav(tmp_path / "tone.wav", 0.1 * np.sin(np.arange(blocks * 320) / 5.0), RATE)
    runner = _asap_pipeline(WavConfig(path=str(path), pace="asap", block_ms=20))
    _run_after_the_source_wrote_everything(runner, blocks)
    _assert_latency_includes_the_wait(runner, blocks)


def test_sensor_latency_includes_the_wait_in_the_ring_buffer(tmp_path):
    blocks, block = 20, 10
    path = tmp_path / "imu.csv"
    path.write_text("t,ax,ay,az\n" + "".join(f"{i / 50:.3f},{i},0,1\n" for i in range(blocks * block)))
    runner = _asap_pipeline(SensorFileConfig(path=str(path), channels=IMU, pace="asap", block=block))
    _run_after_the_source_wrote_everything(runner, blocks)
    _assert_latency_includes_the_wait(runner, blocks)


@pytest.mark.parametrize("make", ["wav", "sensor"])
def test_blocks_carry_their_capture_time_not_the_time_they_are_read(tmp_path, make):
    if make == "wav":
        source = SOURCES.build(WavConfig(path=str(write_wav(tmp_path / "a.wav", np.zeros(3200), RATE)), pace="asap"))
    else:
        (tmp_path / "s.csv").write_text("t,ax\n" + "".join(f"{i / 50},{i}\n" for i in range(40)))
        source = SOURCES.build(SensorFileConfig(path=str(tmp_path / "s.csv"), channels=["ax"], pace="asap", block=4))
    source.start()
    assert source.finished.wait(WAIT_S)
    written_by = time.monotonic()
    items = []
    while (item := source.get(0)) is not None:
        items.append((item.captured_at, time.monotonic()))
    source.stop()
    assert len(items) == 10
    stamps = [captured for captured, _ in items]
    assert all(captured <= written_by < read for captured, read in items)
    assert stamps == sorted(stamps)


def test_a_stale_audio_block_is_counted_as_a_miss_but_never_dropped(tmp_path):
    path = write_wav(tmp_path / "tone.wav", np.zeros(10 * 320), RATE)
    runner = _asap_pipeline(WavConfig(path=str(path), pace="asap"), budget_ms=0.001)   # every block is late
    _run_after_the_source_wrote_everything(runner, 10)
    assert runner.counters["processed"] == 10 and runner.counters["dropped_stale"] == 0
    assert runner.counters["budget_misses"] == 10


# -- budget policies against the stream --------------------------------------------------------------
AUDIO = 'source={type="synthetic_audio"}'
SENSOR = 'source={type="sensor_file", path="imu.csv", channels=["ax"]}'
VIDEO = 'source={type="synthetic_video"}'


def _pipeline(source: str, policy: str) -> list[str]:
    return [f'pipelines=[{{name="p", budget_ms=50, {source}, budget={{policy="{policy}"}}}}]']


@pytest.mark.parametrize("source, policy, kind", [(AUDIO, "every_nth", "audio"), (SENSOR, "every_nth", "sensor"),
                                                  (AUDIO, "downscale", "audio"), (SENSOR, "downscale", "sensor")])
def test_a_policy_the_stream_cannot_take_is_refused_naming_the_key(source, policy, kind):
    with pytest.raises(ConfigError) as refused:
        load_config(None, _pipeline(source, policy))
    message = str(refused.value)
    assert message.startswith("(defaults): pipelines[0].budget.policy: ")
    assert f"'{policy}'" in message and f"{kind} stream" in message and "\n" not in message


@pytest.mark.parametrize("source, policy", [(VIDEO, "every_nth"), (VIDEO, "downscale"), (VIDEO, "drop"),
                                            (AUDIO, "drop"), (SENSOR, "drop")])
def test_policies_that_fit_the_stream_are_accepted(source, policy):
    assert load_config(None, _pipeline(source, policy)).pipelines[0].budget.policy == policy


def test_a_config_built_in_code_is_checked_by_the_runner():
    config = PipelineConfig(name="p", source=SyntheticAudioConfig(), budget=BudgetPolicy(policy="every_nth"))
    with pytest.raises(ConfigError, match="pipeline p: budget.policy: 'every_nth'"):
        PipelineRunner(config, StageEnv())


@pytest.mark.parametrize("command", ["validate", "run"])
def test_validate_and_run_refuse_with_one_line_and_exit_2(tmp_path, capsys, command):
    path = tmp_path / "voice.toml"
    path.write_text('[[pipelines]]\nname = "voice"\n[pipelines.source]\ntype = "synthetic_audio"\n'
                    '[pipelines.budget]\npolicy = "every_nth"\n')
    assert main([command, str(path)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"perceive: error: {path}: pipelines[0].budget.policy: ")
    assert "Traceback" not in err and "every_nth" in err
