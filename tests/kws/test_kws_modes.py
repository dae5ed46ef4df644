"""Listening modes on synthetic posteriors: the real decision code (KeywordSpotter.replay) and the gate
(pipeline/skills/kws/modes.py), with a model contract that names a wake phrase; no ONNX model is run."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.skills.kws.detector import DetectorOptions, KeywordSpotter
from pipeline.skills.kws.modes import CommandGate, check_mode, gate

LABELS = ["stop", "go", "computer", "_silence_", "_unknown_"]
FRAME_S = 0.01
WORD_FRAMES = 15          # frames a spotted word's posterior stays high
WINDOW_S = 3.0
SHORT_WORD_S = 0.3        # "stop" spoken right after the wake phrase: its posterior comes this much later


def fake_engine(wake_phrases=("computer",)):
    from pipeline.config.loader import to_dict
    from pipeline.contract import make_contract
    from pipeline.skills.kws.features import default_spec
    state = [2, "batch", 8]
    contract = make_contract({
        "task": "kws", "name": "fake-kws", "version": "0", "labels": LABELS,
        "audio": to_dict(default_spec()),
        "inputs": [{"name": "features", "shape": ["batch", "time", 40]}, {"name": "h0", "shape": state},
                   {"name": "c0", "shape": state}],
        "outputs": [{"name": "logits", "shape": ["batch", "time", len(LABELS)]}, {"name": "hn", "shape": state},
                    {"name": "cn", "shape": state}],
        "state": {"h0": "hn", "c0": "cn"}, "quantization": {"scheme": "none"},
        "provenance": {"weights": "none", "licence": "none", "data": "none", "command": "none"},
        "params": {"keywords": ["stop", "go"], "wake_phrases": list(wake_phrases), "threshold": 0.8,
                   "window_threshold": 0.6, "thresholds": {"computer": 0.9},
                   "smooth_frames": 5, "hold_frames": 2, "reset_frames": 300}})
    return SimpleNamespace(contract=contract, path=Path("fake.onnx"))


def posteriors(words: list[tuple[str, float]], seconds: float) -> np.ndarray:
    """Silence, with each (word, time) a run of frames where that word's posterior is 0.95."""
    posts = np.full((int(seconds / FRAME_S), len(LABELS)), 0.01)
    posts[:, LABELS.index("_silence_")] = 0.96
    for word, t in words:
        a = int(t / FRAME_S)
        posts[a:a + WORD_FRAMES] = 0.0125
        posts[a:a + WORD_FRAMES, LABELS.index(word)] = 0.95
    return posts


def events(words, seconds=10.0, mode="wake", window_s=WINDOW_S):
    spotter = KeywordSpotter(fake_engine(), DetectorOptions(wake=mode == "wake"))
    return [(e.kind, e.detection.keyword) for e in gate(spotter.replay(posteriors(words, seconds)), mode,
                                                         spotter.wake_phrases, window_s)]


def test_command_without_the_wake_phrase_is_ignored():
    assert events([("stop", 1.0), ("go", 4.0)]) == []


def test_wake_then_command_within_the_window_fires_once():
    # "computer, stop" with no pause: the command's posterior follows the wake phrase's after a short word
    assert events([("computer", 1.0), ("stop", 1.0 + SHORT_WORD_S)]) == [("wake", "computer"),
                                                                                    ("keyword", "stop")]
    # one command per window: the second is ignored
    assert events([("computer", 1.0), ("stop", 2.0), ("go", 3.5)]) == [("wake", "computer"), ("keyword", "stop")]


def test_command_after_the_window_closed_is_ignored():
    assert events([("computer", 1.0), ("stop", 1.0 + WINDOW_S + 0.5)]) == [("wake", "computer")]
    assert events([("computer", 1.0), ("stop", 2.5)], window_s=1.0) == [("wake", "computer")]
    # a new wake phrase opens a new window
    assert events([("computer", 1.0), ("computer", 5.0), ("go", 6.0)]) == [
        ("wake", "computer"), ("wake", "computer"), ("keyword", "go")]


def test_commands_mode_always_listens_and_does_not_spot_the_wake_phrase():
    assert events([("computer", 1.0), ("stop", 3.0), ("go", 6.0)], mode="commands") == [
        ("keyword", "stop"), ("keyword", "go")]


def test_gate_alone_on_detections():
    d = lambda k, t: SimpleNamespace(keyword=k, t=t)   # noqa: E731
    g = CommandGate("wake", ["computer"], window_s=2.0)
    assert g.feed(d("go", 0.5)) is None
    assert g.feed(d("computer", 1.0)).kind == "wake" and g.is_open(2.9) and not g.is_open(3.1)
    assert g.feed(d("go", 3.0)).kind == "keyword" and not g.is_open(3.0)
    assert g.feed(d("stop", 3.2)) is None


def test_thresholds_per_mode():
    commands = KeywordSpotter(fake_engine())
    assert commands.keywords == ["stop", "go"] and list(commands.thresholds) == [0.8, 0.8]
    wake = KeywordSpotter(fake_engine(), DetectorOptions(wake=True))
    assert wake.keywords == ["stop", "go", "computer"] and list(wake.thresholds) == [0.6, 0.6, 0.9]
    given = KeywordSpotter(fake_engine(), DetectorOptions(wake=True, threshold=0.7))
    assert list(given.thresholds) == [0.7, 0.7, 0.9]   # a global threshold is for commands only


def test_wake_mode_needs_a_wake_phrase():
    with pytest.raises(ConfigError, match="no wake phrase"):
        check_mode("wake", [], "kws")
    with pytest.raises(ConfigError, match="expected one of"):
        check_mode("always", ["computer"], "kws")
    with pytest.raises(ConfigError, match="window_s"):
        CommandGate("wake", ["computer"], window_s=0)
    check_mode("commands", [], "kws")
