"""A tiny keyword training run: the loss falls; export + int8 give a streaming model with a contract."""
import json
import subprocess
import sys

import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.skills.kws.detector import KeywordSpotter, detect_clip
from pipeline.sources.audio import read_wav
from tests.kws.paths import FIXTURES
from training.kws.synth import evaluation_word

pytestmark = pytest.mark.torch

TINY = ['vocabulary=["yes","no"]', "hard_negatives=", "per_word_voice=1", "fillers=20", "filler_voices=2",
        "train_sequences=96", "test_sequences=24", "epochs=3", "max_steps=18", "batch=16", "hidden=16", "lr=0.01"]


def perceive(*args):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", *args], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_tiny_kws_trains_exports_and_streams(tmp_path):
    sets = [a for s in TINY + [f"data_dir={tmp_path / 'data'}"] for a in ("--set", s)]
    metrics = json.loads(perceive("train", "kws", "--out", str(tmp_path / "runs"), *sets))
    assert metrics["last_loss"] < metrics["first_loss"], metrics
    run = tmp_path / "runs" / metrics["run"].split("/")[-1]
    for name in ("config.json", "checkpoint.pt", "curves.png", "confusion.png"):
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["hidden"] == 16
    assert metrics["held_out_voices"] > 0 and metrics["train_voices"] > 0

    out = tmp_path / "models"
    summary = json.loads(perceive("export", "kws", "--checkpoint", str(run / "checkpoint.pt"), "--out", str(out)))
    assert summary["metrics"]["parity_max_abs"] < 1e-4
    engine = Engine(out / "kws.onnx")
    c = engine.contract
    assert c.labels == ["yes", "no", "_silence_", "_unknown_"] and c.state == {"h0": "hn", "c0": "cn"}
    assert c.quantization.scheme in ("int8-dynamic", "none") and c.audio.n_mels == 40
    assert set(c.metrics["held_out"]) == {"fp32", "int8"}
    assert (out / "kws.md").read_text().count("Held-out accuracy") == 1
    # dynamic batch and time axes, state in and out
    res = engine.run({"features": np.zeros((3, 7, 40), np.float32), "h0": np.zeros((2, 3, 16), np.float32),
                      "c0": np.zeros((2, 3, 16), np.float32)})
    assert res["logits"].shape == (3, 7, 4) and res["hn"].shape == (2, 3, 16)
    samples, rate = read_wav(FIXTURES / "yes_en-us_f3.wav")
    detect_clip(KeywordSpotter(engine), samples, rate)   # runs end to end (a 18-step model decides little)

    # hard-negative mining over the tiny run's corpus: threshold 0 makes every word fire, so the list
    # must hold exactly words that are neither in the corpus nor reserved for evaluation
    mined = tmp_path / "hard.txt"
    proc = subprocess.run([sys.executable, "-m", "export.kws_mine", "--model", str(out / "kws.onnx"), "--out",
                           str(mined), "--config", str(run / "config.json"), "--limit", "30", "--threshold", "0"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = mined.read_text().split()
    corpus = np.load(next((tmp_path / "data").glob("corpus-*.npz")))
    assert 5 <= len(words) <= 30 and not set(words) & set(corpus["word"].tolist())
    assert not any(evaluation_word(w) for w in words)


def test_dictionary_split_keeps_evaluation_words_out_of_training(tmp_path):
    from training.kws.synth import KEYWORDS, _dictionary, confusable_words, filler_words
    from training.kws.train import Config, _hard_negatives
    rng = np.random.default_rng(0)
    train, held = filler_words(3000, rng, KEYWORDS), filler_words(500, rng, KEYWORDS, evaluation=True)
    assert not any(map(evaluation_word, train + confusable_words(KEYWORDS))) and all(map(evaluation_word, held))
    words = _dictionary()
    assert 0.09 < sum(map(evaluation_word, words)) / len(words) < 0.11
    listed = tmp_path / "hard.txt"
    listed.write_text(f"{train[0]}\n{held[0]}\n")
    with pytest.raises(ValueError, match=held[0]):
        _hard_negatives(Config(hard_negatives=str(listed)))
    # the shipped list passes the same check, and applies to the default commands only
    assert len(_hard_negatives(Config())) > 1000
    assert _hard_negatives(Config(vocabulary=["yes", "no"])) == []


@pytest.mark.skipif(not __import__("training.kws.real", fromlist=["available"]).available(),
                    reason="real speech (../shared/data/real) not found")
def test_tiny_kws_trains_with_real_speech_and_a_wake_phrase(tmp_path):
    """Real train-split clips join the pool and the wake phrase is a label; held-out speakers never do."""
    sets = [a for s in TINY + ['wake_words=["computer"]', "real_speech=true", "real_test_sequences=24",
                               f"data_dir={tmp_path / 'data'}"] for a in ("--set", s)]
    metrics = json.loads(perceive("train", "kws", "--out", str(tmp_path / "runs"), *sets))
    import torch
    ckpt = torch.load(metrics["checkpoint"], map_location="cpu", weights_only=False)
    assert ckpt["labels"] == ["yes", "no", "computer", "_silence_", "_unknown_"]
    from training.kws import real
    trained = [v.split(":")[1:] for v in ckpt["voices"]["train"] if v.startswith("real:")]   # real:source:key
    assert {source for source, _ in trained} == {real.SPEECH_COMMANDS, real.WAKE_WORDS, real.CONTINUOUS}
    assert all(real.split_of(source, key) == "train" for source, key in trained)
