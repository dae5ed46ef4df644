"""The shipped keyword model on checked-in clips from held-out voices, and bad input."""
import json
import wave

import numpy as np
import pytest

from pipeline.cli.main import main as perceive
from pipeline.config.loader import build
from pipeline.engine import Engine
from pipeline.errors import ContractError, InputError
from pipeline.skills.kws.detector import KeywordSpotter, detect_clip
from pipeline.assembly import PipelineConfig, PipelineRunner
from pipeline.runtime.stage import SHIPPED_MODELS, StageEnv
from pipeline.sources.audio import read_wav
from tests.kws.make_fixtures import NOISE_RMS
from tests.kws.paths import FIXTURES

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
KEYWORD_CLIPS = sorted(k for k, v in MANIFEST.items() if v["keyword"])
NEGATIVE_CLIPS = sorted(k for k, v in MANIFEST.items() if not v["keyword"])
END_TOLERANCE_S = 0.25   # estimated word end vs the synthesised word's end
# Measured errors of the shipped model on these clips, as strict xfails (the test fails as soon as a
# better model gets one right). v8 (int8, at its per-command thresholds) misses two synthetic voices that
# v7 heard: it is trained mostly on real speakers (67.9% of synthetic held-out commands, kws.md).
KNOWN_ERRORS: dict[str, str] = {"down_en-029_m1.wav": "missed by v8", "yes_en-us_f3.wav": "missed by v8"}
# v8 1.1 after a second of digital silence: `off` peaks at 0.87 (0.97 without the silence), below the 0.95
# that the tune speakers chose for `off`.
KNOWN_ERRORS_AFTER_SILENCE = {**KNOWN_ERRORS, "off_en-gb-x-gbcwmd_m2.wav": "v8 1.1: 0.87 < off's 0.95"}


@pytest.fixture(scope="module")
def spotter():
    return KeywordSpotter(Engine(SHIPPED_MODELS / "kws.onnx"))


def test_contract_describes_a_streaming_model(spotter):
    c = spotter.contract
    assert c.task == "kws" and c.quantization.scheme == "int8-static-qdq"   # a head of convolutions: static int8
    assert c.labels[:12] == ["unlock", "lock", "yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off"]
    # v8: a window head over speech embeddings; its state is the ring of the previous embeddings
    assert c.state == {"ring": "ring_out"} and c.audio.sample_rate == 16000 and c.audio.feature == "speech-embedding"
    assert c.params["reset_frames"] == 0 and c.params["hop_frames"] == 1 and c.audio.hop_ms == 80
    for name in c.params["front_end"].values():
        assert (SHIPPED_MODELS / name).is_file()
    bench = c.metrics["benchmark"]
    # v8 trades synthetic voices for real ones: 67.9% of held-out-voice commands at its thresholds (kws.md)
    assert c.params["threshold"] == bench["at_threshold"]["threshold"] and bench["at_threshold"]["accuracy"] > 0.55
    assert c.params["wake_phrases"] == ["computer"] and "computer" in c.labels
    assert 0 < c.params["window_threshold"] <= c.params["threshold"] and "computer" in c.params["thresholds"]
    assert c.params["hold_frames"] == bench["hold_frames"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_ERRORS[n]))
                                  if n in KNOWN_ERRORS else n for n in KEYWORD_CLIPS])
def test_detects_the_command_spoken_by_a_held_out_voice(spotter, name):
    samples, rate = read_wav(FIXTURES / name)
    events = detect_clip(spotter, samples, rate)
    truth = MANIFEST[name]
    assert [e.keyword for e in events] == [truth["keyword"]], events
    e = events[0]
    assert abs(e.end - truth["word_end_s"]) < END_TOLERANCE_S, (e, truth)
    assert e.start <= e.end <= e.t and 0 < e.confidence <= 1 and e.latency_ms >= 0


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_ERRORS[n]))
                                  if n in KNOWN_ERRORS else n for n in NEGATIVE_CLIPS])
def test_silent_on_noise_and_other_words(spotter, name):
    samples, rate = read_wav(FIXTURES / name)
    assert detect_clip(spotter, samples, rate) == []


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True,
                                                                           reason=KNOWN_ERRORS_AFTER_SILENCE[n]))
                                  if n in KNOWN_ERRORS_AFTER_SILENCE else n for n in KEYWORD_CLIPS])
def test_a_command_right_after_the_input_comes_alive_is_heard(spotter, name):
    """A muted or virtual input gives digital silence, then the room's noise starts: the clip's
    own noise floor begins 1 s into the stream and its word ~0.4 s later (the previous model
    missed 5 of these 6)."""
    samples, rate = read_wav(FIXTURES / name)
    events = detect_clip(spotter, np.concatenate([np.zeros(rate, np.float32), samples]), rate)
    assert [e.keyword for e in events] == [MANIFEST[name]["keyword"]], events


@pytest.mark.parametrize("lead_s", [0.3, 0.8, 1.3, 1.8, 2.3, 2.8, 3.3])
def test_a_command_is_heard_however_long_the_stream_has_run(spotter, lead_s):
    """The live detector decides on a stream that has run between half and all of its reset cycle
    (3 s); a word must be heard wherever it falls in that cycle. The lead is the clip's own noise
    floor, as a microphone's is continuous."""
    name = "left_rms_default.wav"
    samples, rate = read_wav(FIXTURES / name)
    lead = np.random.default_rng(0).standard_normal(int(lead_s * rate)).astype(np.float32) * NOISE_RMS
    events = detect_clip(spotter, np.concatenate([lead, samples]), rate)
    assert [e.keyword for e in events] == [MANIFEST[name]["keyword"]], events
    assert abs(events[0].end - lead_s - MANIFEST[name]["word_end_s"]) < END_TOLERANCE_S


def test_bad_clips_get_clear_errors(spotter):
    samples, rate = read_wav(FIXTURES / KEYWORD_CLIPS[0])
    with pytest.raises(InputError, match="8000 Hz, the model needs 16000"):
        detect_clip(spotter, samples[::2], 8000)
    with pytest.raises(InputError, match="mono"):
        detect_clip(spotter, np.stack([samples, samples], axis=1), rate)
    with pytest.raises(InputError, match="empty"):
        detect_clip(spotter, samples[:0], rate)
    with pytest.raises(InputError, match="NaN"):
        detect_clip(spotter, np.full(16000, np.nan, np.float32), rate)


def _write_wav(path, samples: np.ndarray, rate: int, channels: int) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())


def test_listen_resamples_and_mixes_down_a_stereo_44k_wav(tmp_path, capsys):
    """Another rate or channel count in a file is handled explicitly: mixed to mono, resampled."""
    name = next(n for n in KEYWORD_CLIPS if n not in KNOWN_ERRORS)
    samples, rate = read_wav(FIXTURES / name)
    t_out = np.arange(int(len(samples) * 44100 / rate)) / 44100
    stereo = tmp_path / "stereo44k.wav"
    _write_wav(stereo, np.interp(t_out, np.arange(len(samples)) / rate, samples), 44100, 2)
    assert perceive(["-q", "listen", "--wav", str(stereo), "--json", "--mode", "commands"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [ln["data"]["keyword"] for ln in lines if ln.get("kind") == "keyword"] == [MANIFEST[name]["keyword"]]
    assert lines[-1]["summary"]["samples"] > 0


def test_empty_wav_is_an_error_and_model_refuses_a_source_at_another_rate(tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    _write_wav(empty, np.zeros(0), 16000, 1)
    assert perceive(["-q", "listen", "--wav", str(empty), "--json"]) == 2   # issue 14: not "0 samples, ok"
    captured = capsys.readouterr()
    assert captured.out == "" and f"{empty}: contains no audio samples" in captured.err
    config = build(PipelineConfig, {"name": "t", "source": {"type": "wav", "path": str(empty), "sample_rate": 8000},
                                    "stages": [{"type": "kws"}]})
    with pytest.raises(ContractError, match="sample_rate"):
        PipelineRunner(config, StageEnv())


def test_a_keyword_must_hold_its_threshold_for_hold_frames(spotter):
    """A posterior blip shorter than the hold (a syllable inside a longer word) does not fire."""
    k = spotter.labels.index("stop")
    silence = spotter.labels.index("_silence_")

    def posts(run: int) -> np.ndarray:
        p = np.zeros((120, len(spotter.labels)), np.float32)
        p[:, silence] = 1.0
        p[40:40 + run] = 0.0
        p[40:40 + run, k] = 1.0
        return p

    saved = spotter.hold, spotter.thresholds.copy()
    spotter.hold, spotter.thresholds[:] = 8, 0.9
    try:
        blip = spotter.smooth + spotter.hold - 2   # the average passes 0.9 only over a full window: hold - 1 frames
        assert spotter.replay(posts(blip)) == []
        held = spotter.replay(posts(blip + 1))
        assert [d.keyword for d in held] == ["stop"]
    finally:
        spotter.hold, spotter.thresholds[:] = saved


def test_listen_on_a_device_that_does_not_exist_fails_at_once(capsys):
    assert perceive(["listen", "--device", "no-such-microphone"]) == 2
    err = capsys.readouterr().err
    assert "no-such-microphone" in err and ("inputs here" in err or "microphone unavailable" in err), err
