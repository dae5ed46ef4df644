"""The speech-embedding front end (pipeline/skills/kws/frontend.py): streaming gives the numbers of the whole
clip whatever the block size, training's batched computation is the runtime's, and the shipped graphs
say where they come from."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.contract import AudioSpec
from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.skills.kws.frontend import STEP, SPEECH_EMBEDDING, SpeechEmbeddingFrontEnd, make_front_end
from pipeline.runtime.stage import SHIPPED_MODELS

MEL, EMBEDDING = SHIPPED_MODELS / "kws_melspectrogram.onnx", SHIPPED_MODELS / "kws_speech_embedding.onnx"
SPEC = AudioSpec(sample_rate=16000, window_ms=80.0, hop_ms=80.0, n_mels=32, n_fft=512, feature=SPEECH_EMBEDDING)


@pytest.fixture(scope="module")
def front():
    return SpeechEmbeddingFrontEnd(SPEC, MEL, EMBEDDING)


def _clip(steps=25, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(steps * STEP) * 0.01).astype(np.float32)
    x[8000:16000] += (0.3 * np.sin(np.arange(8000) * 0.1)).astype(np.float32)   # a loud tone in quiet noise
    return x


@pytest.mark.parametrize("block", [320, 1280, 4321])
def test_streaming_gives_the_whole_clips_numbers(front, block):
    x = _clip()
    front.reset()
    whole, whole_energy = front.push(x)
    front.reset()
    parts = [front.push(x[i:i + block]) for i in range(0, len(x), block)]
    assert whole.shape == (len(x) // STEP, 96)
    assert np.array_equal(np.concatenate([p[0] for p in parts]), whole)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), whole_energy)


def test_training_computes_its_sequences_as_the_runtime_streams_them(front):
    clips = np.stack([_clip(seed=1), _clip(seed=2) * 0.3])
    batch = front.embed_batch(clips)
    for clip, emb in zip(clips, batch):
        front.reset()
        assert np.array_equal(front.push(clip)[0], emb)


def test_energy_follows_the_audio(front):
    front.reset()
    _, energy = front.push(_clip())
    tone_steps = slice(8000 // STEP + 1, 16000 // STEP)
    assert energy[tone_steps].min() > energy[-5:].max() + 20


def test_shipped_graphs_carry_their_source_and_licence():
    for path in (MEL, EMBEDDING):
        c = Engine(path).contract
        assert c.task == "kws_frontend" and c.provenance.licence == "Apache-2.0"
        assert "speech_embedding" in c.provenance.weights and "openWakeWord" in c.provenance.weights


def test_a_model_that_names_no_front_end_graphs_is_refused_in_one_line():
    engine = SimpleNamespace(path=Path("x.onnx"), config=None,
                             contract=SimpleNamespace(audio=SPEC, params={"front_end": {"melspectrogram": "m.onnx"}}))
    with pytest.raises(ContractError, match="params.front_end"):
        make_front_end(engine)
    engine.contract.audio = AudioSpec(sample_rate=16000, window_ms=80.0, hop_ms=80.0, n_mels=32, n_fft=512,
                                      feature="mfcc")
    with pytest.raises(ContractError, match="not a keyword front end"):
        make_front_end(engine)
