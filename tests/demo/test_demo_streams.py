"""The demo builds its stages before it picks their source; the voice stage must still check the sample
rate of the stream it gets (issue 18: before, the check never ran in the demo)."""
import pytest

from pipeline.demo.app import Demo, DemoOptions
from pipeline.demo.pipelines import build_stages, make_runner, voice_config
from pipeline.errors import ContractError
from pipeline.runtime.stage import SHIPPED_MODELS, StageEnv
from pipeline.sources.audio import WavConfig
from pipeline.skills.kws.stage import KwsStage

needs_kws = pytest.mark.skipif(not (SHIPPED_MODELS / "kws.onnx").is_file(), reason="kws model not shipped")


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def voice_stage():
    """Built as the demo builds it: from an environment that does not know the source yet."""
    env = StageEnv()
    stages, unavailable = build_stages([voice_config(mode="commands")], env)
    assert unavailable == {} and env.context.stream is None
    return stages


@needs_kws
def test_a_voice_stage_built_before_its_source_refuses_a_stream_at_another_rate(tmp_path):
    wav = str(tmp_path / "never_opened.wav")   # the check comes before the source opens
    with pytest.raises(ContractError, match=r"contract audio.sample_rate = 16000 but config source.sample_rate = 8000"):
        make_runner("audio", WavConfig(path=wav, sample_rate=8000), voice_stage(), StageEnv())
    stages = voice_stage()
    runner, _ = make_runner("audio", WavConfig(path=wav, sample_rate=16000), stages, StageEnv())
    assert runner.stages == stages


@needs_kws
def test_the_demo_checks_its_voice_stage_against_the_audio_stream(tmp_path, no_display, monkeypatch):
    checked = []
    original = KwsStage.check_stream

    def recording(self, stream):
        checked.append(stream)
        original(self, stream)

    monkeypatch.setattr(KwsStage, "check_stream", recording)
    demo = Demo(DemoOptions(out=str(tmp_path), threads=1))
    try:
        assert demo.audio is not None, demo.unavailable
        assert [(s.kind, s.rate_hz) for s in checked] == [("audio", 16000.0)]
        assert checked[0] == demo.audio.stream
    finally:
        demo.close()
