"""Real speech: held-out speakers' clips (tests/kws/fixtures/real, CC-BY-4.0, see ATTRIBUTION) through
the shipped model's fp32 twin (exact on any x86 CPU), the fixed split rule, and the warm start."""
import json

import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.skills.kws.detector import KeywordSpotter, detect_clip
from pipeline.runtime.stage import SHIPPED_MODELS
from pipeline.sources.audio import read_wav
from tests.kws.paths import FIXTURES
from training.kws import real

REAL = FIXTURES / "real"
MANIFEST = json.loads((REAL / "manifest.json").read_text())
COMMAND_CLIPS = sorted(k for k, v in MANIFEST.items() if v["keyword"])
OTHER_CLIPS = sorted(k for k, v in MANIFEST.items() if not v["keyword"] and not v.get("wake"))
# Measured errors of the shipped model (fp32, commands mode at its threshold) on these clips, which were
# fixed by rule before any model was measured; strict: a better model that gets one right fails until it
# is removed here. v6 got 1 of the 6 commands and 1 of the 3 other words right, v7 2 and 1, v8 1.0 all of
# them, v8 1.1 5 and 3 (75.6% / 100% over all 472 / 42 held-out clips, fp32: pipeline/models/kws.md).
KNOWN_ERRORS: dict[str, str] = {"right_0c40e715.wav": "v8 1.1: `right` peaks at 0.895, below its 0.9"}
# Commands heard in the wake window right after the wake phrase: v8 1.1 hears this `left` as `yes` there
# (0.93; alone it is `left` at 0.99). Over the tune speakers it hears 90.7% of commands right after a
# real `computer` (v8 1.0: 90.1%; README, Voice commands).
KNOWN_WINDOW_ERRORS = {"left_0d53e045.wav": "v8 1.1 hears `yes` after the wake phrase"}


@pytest.fixture(scope="module")
def spotter():
    return KeywordSpotter(Engine(SHIPPED_MODELS / "kws.fp32.onnx"))


def _mark(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_ERRORS[n])) if n in KNOWN_ERRORS
            else n for n in names]


@pytest.mark.parametrize("name", _mark(COMMAND_CLIPS))
def test_real_held_out_speaker_command_is_detected(spotter, name):
    samples, rate = read_wav(REAL / name)
    assert [e.keyword for e in detect_clip(spotter, samples, rate)] == [MANIFEST[name]["keyword"]]


@pytest.mark.parametrize("name", _mark(OTHER_CLIPS))
def test_real_other_word_fires_nothing(spotter, name):
    samples, rate = read_wav(REAL / name)
    assert detect_clip(spotter, samples, rate) == []


def test_fixture_speakers_are_held_out():
    assert all(real.split_of(real.SPEECH_COMMANDS, v["speaker"]) == "held_out" for v in MANIFEST.values())


@pytest.mark.skipif(not real.available(), reason=f"real speech not found at {real.REAL_SPEECH}")
def test_split_is_by_speaker_and_fixed():
    clips = real.list_clips()
    by_speaker = {}
    for c in clips:
        by_speaker.setdefault((c.source, c.speaker), set()).add(c.split)
    assert all(len(s) == 1 for s in by_speaker.values())   # a speaker (or file) is in one split only
    sc = {k[1]: next(iter(s)) for k, s in by_speaker.items() if k[0] == real.SPEECH_COMMANDS}
    held = sum(s == "held_out" for s in sc.values()) / len(sc)
    assert 0.15 < held < 0.35 and any(s == "tune" for s in sc.values())
    assert [c.split for c in clips] == [c.split for c in real.list_clips()]


def test_trim_keeps_the_word_and_drops_the_room():
    rate = real.SAMPLE_RATE
    x = np.random.default_rng(0).normal(0, 1e-3, rate).astype(np.float32)
    x[4000:8000] += np.sin(np.arange(4000) * 0.2).astype(np.float32) * 0.5
    y = real.trim_to_word(x)
    assert 3900 <= len(y) <= 4400


@pytest.mark.torch
def test_warm_start_reproduces_an_lstm_model_and_adds_labels(tmp_path):
    """The log-mel LSTM path (v1-v7, still trainable): a model's fp32 ONNX file, weights read back."""
    import json as json_

    import onnx
    import torch

    from export.common import export_onnx
    from training.kws.train import Config, build_model, label_names
    from training.kws.warm_start import load_into
    torch.manual_seed(0)
    old = Config(hidden=16)
    old_names = label_names(old)
    path = export_onnx(build_model(old, 40, len(old_names)).eval(),
                       (torch.zeros(2, 3, 40), torch.zeros(old.layers, 2, 16), torch.zeros(old.layers, 2, 16)),
                       tmp_path / "kws.fp32.onnx", ["features", "h0", "c0"], ["logits", "hn", "cn"],
                       {"features": {0: "batch", 1: "time"}, "h0": {1: "batch"}, "c0": {1: "batch"}})
    graph = onnx.load(str(path))
    graph.metadata_props.add(key="perceive.contract", value=json_.dumps({"labels": old_names}))
    onnx.save(graph, str(path))
    cfg = Config(hidden=16, wake_words=["computer", "marvin"])
    names = label_names(cfg)
    model = build_model(cfg, 40, len(names))
    assert load_into(model, path, names) == [n for n in names if n not in old_names]
    x = np.random.default_rng(0).standard_normal((2, 30, 40)).astype(np.float32) - 5
    zeros = np.zeros((cfg.layers, 2, cfg.hidden), np.float32)
    import onnxruntime
    want = onnxruntime.InferenceSession(str(path)).run(["logits"], {"features": x, "h0": zeros, "c0": zeros})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(x), torch.from_numpy(zeros), torch.from_numpy(zeros))[0].numpy()
    assert np.abs(got[..., [names.index(n) for n in old_names]] - want).max() < 1e-4


def test_real_benchmark_scores_the_first_event_of_each_clip_and_chooses_on_tune_figures():
    from export.kws_real import _first_in_span, choose
    events = [("keyword", "go", 0.5), ("keyword", "up", 0.9), ("keyword", "no", 3.5)]
    assert _first_in_span(events, [(0.0, 2.0), (2.0, 3.0), (3.0, 4.0)]) == [events[0], None, events[2]]
    fig = lambda acc, unk, fa, wakes, heard: {"command_accuracy": acc, "unknown_fired": unk,   # noqa: E731
                                              "commands_fa_per_hour": fa,
                                              "wake_as_threshold": {"false_wakes": wakes, "wake_detected": heard,
                                                                    "other_wake_words_fired": 0.0}}
    tune = {0.5: fig(0.9, 0.10, 5.0, 2, 1.0), 0.7: fig(0.8, 0.04, 8.0, 0, 1.0), 0.8: fig(0.75, 0.0, 1.0, 0, 1.0),
            0.9: fig(0.7, 0.0, 1.0, 0, 0.8)}
    # 0.5 fires on too many other words; the window (in wake mode) takes the most accurate; 0.8 is the
    # strictest wake threshold with no false wake that still hears every tune wake phrase
    assert choose(tune) == (0.7, 0.5, 0.8)


def test_per_command_thresholds_trade_right_words_against_wrong_firings_and_never_fire_in_speech():
    from export.kws_real import choose_per_keyword

    def fig(right: dict, wrong: dict, fa: dict) -> dict:
        return {"accuracy_by_word": {k: [n, 40] for k, n in right.items()}, "wrong_fired_by_keyword": wrong,
                "continuous_fa_by_keyword": fa}
    tune = {0.5: fig({"on": 35, "up": 39}, {"on": 1, "up": 20, "lock": 0}, {"on": 0, "up": 3, "lock": 2}),
            0.8: fig({"on": 33, "up": 38}, {"on": 0, "up": 4, "lock": 0}, {"on": 0, "up": 0, "lock": 1}),
            0.9: fig({"on": 30, "up": 36}, {"on": 0, "up": 1, "lock": 0}, {"on": 0, "up": 0, "lock": 0}),
            0.98: fig({"on": 25, "up": 35}, {"on": 0, "up": 0, "lock": 0}, {"on": 0, "up": 0, "lock": 0})}
    # on: 35 - 1 at 0.5 beats 33 at 0.8; up: 0.5 fires in speech, 0.9 nets 35 as 0.98 does: the stricter;
    # lock (no real clips) keeps the default unless it fires in speech there, then the next clean level up
    assert choose_per_keyword(tune, 0.9) == {"on": 0.5, "up": 0.98, "lock": 0.9}
    assert choose_per_keyword(tune, 0.8)["lock"] == 0.9
    for t in tune:   # a TTS-only command that fires in speech at every level keeps the default
        tune[t]["wrong_fired_by_keyword"]["unlock"], tune[t]["continuous_fa_by_keyword"]["unlock"] = 0, 1
    assert choose_per_keyword(tune, 0.9)["unlock"] == 0.9


WAKE_CLIP = next(k for k, v in MANIFEST.items() if v.get("wake"))
WINDOW_COMMAND = "left_0d53e045.wav"   # a held-out speaker's command spoken after the wake phrase
SILENCE_S = 0.5


def _listen_wake(tmp_path, capsys, parts: list) -> list:
    """``perceive listen --mode wake`` (fp32 twin) on real clips and silences joined into one WAV."""
    from tests.kws.make_fixtures import write_wav
    rate = 16000
    audio = [np.zeros(int(p * rate), np.float32) if isinstance(p, float) else read_wav(REAL / p)[0] for p in parts]
    path = tmp_path / "stream.wav"
    write_wav(path, np.concatenate(audio))
    from pipeline.cli.main import main as perceive
    assert perceive(["-q", "listen", "--wav", str(path), "--json", "--mode", "wake",
                     "--model", str(SHIPPED_MODELS / "kws.fp32.onnx")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [(ln["kind"], ln["data"].get("phrase") or ln["data"].get("keyword")) for ln in lines if "kind" in ln]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WINDOW_ERRORS[n]))
                                  if n in KNOWN_WINDOW_ERRORS else n for n in COMMAND_CLIPS])
def test_real_wake_phrase_then_command_fires(tmp_path, capsys, name):
    assert _listen_wake(tmp_path, capsys, [SILENCE_S, WAKE_CLIP, 0.2, name]) == [
        ("wake", "computer"), ("keyword", MANIFEST[name]["keyword"])]


def test_real_command_without_wake_phrase_or_after_the_window_is_ignored(tmp_path, capsys):
    assert _listen_wake(tmp_path, capsys, [SILENCE_S, WINDOW_COMMAND]) == []
    assert _listen_wake(tmp_path, capsys, [SILENCE_S, WAKE_CLIP, 4.0, WINDOW_COMMAND]) == [("wake", "computer")]


def test_card_sections_are_replaced_in_place_and_hand_written_ones_stay(tmp_path):
    from export.kws_card import replace_card_section
    card = tmp_path / "kws.md"
    card.write_text("# model\n\n## Front end\n\nfrozen\n\n## Bench (run 1)\n\nold\n\n## Targets (issue 3)\n\nold "
                    "targets\n\n## Datasets\n\nhand-written\n")
    replace_card_section(card, "## Bench", "## Bench (run 2)\n\nnew\n\n## Targets (issue 3)\n\nnew targets\n")
    replace_card_section(card, "## Side by side", "## Side by side\n\nreal | synthetic\n", before="## Front end")
    assert card.read_text() == ("# model\n\n## Side by side\n\nreal | synthetic\n\n## Front end\n\nfrozen\n\n"
                                "## Bench (run 2)\n\nnew\n\n## Targets (issue 3)\n\nnew targets\n\n"
                                "## Datasets\n\nhand-written\n")
