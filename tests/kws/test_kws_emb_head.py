"""The v8 head on a tiny made-up embedding set: the loss falls, and the export gives a model whose
contract names its front end, next to the front-end graphs, that the runtime detector streams."""
import numpy as np
import pytest

from pipeline.engine import Engine
from pipeline.skills.kws.detector import KeywordSpotter
from pipeline.sources.audio import read_wav
from tests.kws.paths import FIXTURES
from training.kws.data import IGNORE
from training.kws.emb_data import NAMES

pytestmark = pytest.mark.torch

SEQUENCES, STEPS = 96, 40


def _tiny_set(path):
    """Embeddings where a keyword's steps carry its own offset (learnable), the rest noise."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SEQUENCES, STEPS, 96)).astype(np.float32)
    y = np.full((SEQUENCES, STEPS), NAMES.index("_silence_"), np.int16)
    for i in range(SEQUENCES):
        word = i % (len(NAMES) - 2)
        at = rng.integers(16, STEPS - 4)
        x[i, at:at + 3, word] += 4.0
        y[i, at:at + 3] = word
        y[i, at - 1] = IGNORE
    np.savez(path, x=x.astype(np.float16), y=y, names=np.array(NAMES))


def test_head_trains_exports_and_streams(tmp_path):
    import torch

    from export.kws_emb import export
    from training.kws.emb_head import train
    _tiny_set(tmp_path / "part0.npz")
    last = train([str(tmp_path / "part0.npz")], tmp_path / "run" / "checkpoint.pt", epochs=4, lr=0.01, batch=16,
                 seed=0)
    history = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["history"]
    assert history[-1]["loss"] < history[0]["loss"] and last["epoch"] == 4
    out = tmp_path / "models"
    export(tmp_path / "run" / "checkpoint.pt", out)
    for name in ("kws.onnx", "kws.fp32.onnx", "kws_melspectrogram.onnx", "kws_speech_embedding.onnx", "kws.md"):
        assert (out / name).is_file(), name
    engine = Engine(out / "kws.fp32.onnx")
    c = engine.contract
    assert c.audio.feature == "speech-embedding" and c.state == {"ring": "ring_out"} and c.labels == NAMES
    assert c.params["front_end"] == {"melspectrogram": "kws_melspectrogram.onnx",
                                     "embedding": "kws_speech_embedding.onnx"}
    spotter = KeywordSpotter(engine)
    samples, rate = read_wav(FIXTURES / "left_rms_default.wav")
    spotter.reset()
    whole = spotter.posteriors(samples)
    spotter.reset()
    blocks = np.concatenate([spotter.posteriors(samples[i:i + 320]) for i in range(0, len(samples), 320)])
    assert len(whole) == len(samples) // 1280 == len(blocks)   # one posterior per 80 ms step
    # one head call per step in blocks, one for all steps whole: the same numbers up to float rounding
    assert np.allclose(whole, blocks, atol=1e-5) and np.allclose(whole.sum(1), 1, atol=1e-5)
