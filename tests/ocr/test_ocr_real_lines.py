"""Real-looking recogniser lines (training/ocr/real_lines.py) and the warm start from an exported model."""
import numpy as np
import pytest

from pipeline.engine import Engine, EngineConfig
from pipeline.skills.ocr.preprocess import batch_lines
from pipeline.runtime.stage import SHIPPED_MODELS, shipped_model
from training.ocr.datasets import REC_SPEC, build_lines, build_real_lines
from training.ocr.fonts import UNSEEN_FAMILIES, caps_only, cjk_font, font_families, split_fonts, unseen_fonts
from training.ocr.real_lines import label

pytestmark = pytest.mark.torch


def test_unseen_families_are_neither_trained_on_nor_in_the_first_held_out_group():
    train, held = split_fonts()
    unseen = set(unseen_fonts())
    assert unseen and not unseen & set(train) and not unseen & set(held)
    assert all(f in font_families() for f in UNSEEN_FAMILIES)


def test_cjk_glyphs_are_labelled_as_one_word_gap_and_caps_only_faces_upper_case():
    cjk = cjk_font()
    assert label([("漢字", cjk), ("EXIT 42", "x.ttf")], cjk) == "EXIT 42"
    assert label([("FZ/T73025", "x.ttf"), ("标准", cjk), ("B2390", "x.ttf")], cjk) == "FZ/T73025 B2390"
    assert label([("FLIGHT", "x.ttf"), ("DATE", "x.ttf")], cjk) == "FLIGHT DATE"
    assert caps_only("/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf")
    assert not caps_only("/usr/share/fonts/truetype/lato/Lato-Bold.ttf")


def test_real_looking_lines_are_deterministic_32_high_and_labelled_in_the_alphabet():
    first, texts, _ = build_real_lines(12, 5, False)
    again, texts_again, _ = build_real_lines(12, 5, False)
    assert texts == texts_again and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(im.shape[0] == 32 and im.dtype == np.uint8 for im in first)
    assert all(t and t == t.strip() and all(32 <= ord(c) < 127 for c in t) for t in texts)


def test_warm_start_reproduces_the_exported_recogniser():
    import torch
    from training.ocr import rec
    cfg = rec.Config(init=str(shipped_model("ocr_rec", ".fp32.onnx")))
    images, _, _ = build_lines(64, 3, False, 0.5)
    model = rec.build_model(cfg)
    rec.warm_start(model, cfg, images * 8)
    batch = batch_lines(images[:8], REC_SPEC)
    expected = Engine(cfg.init, EngineConfig(warmup_runs=0)).run({"image": batch})["logits"]
    with torch.no_grad():
        got = model.eval()(torch.from_numpy(batch)).numpy()
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()


def test_cjk_runs_set_against_latin_words_keep_the_word_gap_label():
    from training.ocr.real_lines import _ink
    cjk, latin = cjk_font(), split_fonts()[0][0]
    pieces = [("漢字", cjk), ("DATE", latin), ("标准", cjk), ("B2390", latin)]
    spaced, touching = _ink(pieces, 32, 0.0), _ink(pieces, 32, 0.0, cjk_gap=0.0)
    # the three gaps beside the CJK runs (a third of the size each) are gone; rows unchanged
    assert touching.shape[0] == spaced.shape[0] and spaced.shape[1] - touching.shape[1] >= 3 * (32 // 3) - 3
    assert label(pieces, cjk) == "DATE B2390"


def test_a_checkpoint_warm_start_loads_the_weights_as_trained(tmp_path):
    import torch
    from training.ocr import rec
    source = rec.build_model(rec.Config(seed=1))
    torch.save({"model": source.state_dict()}, tmp_path / "checkpoint.pt")
    cfg = rec.Config(seed=2, init=str(tmp_path / "checkpoint.pt"))
    model = rec.build_model(cfg)
    rec.warm_start(model, cfg, [])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), source.state_dict().values()))
