"""Old-style figures in training lines (training/ocr/render.py): drawn where a training font has them,
never in evaluation sets."""
import numpy as np
import pytest
from PIL import features

from training.ocr.datasets import OLDSTYLE_FIGURES
from training.ocr.fonts import split_fonts
from training.ocr.render import has_oldstyle_figures, render_line, text_mask

pytestmark = pytest.mark.skipif(not features.check("raqm"), reason="Pillow without raqm ignores OpenType features")


def _font(name: str) -> str:
    return next(f for f in split_fonts()[0] if f.endswith(name))


def test_onum_changes_the_figures_of_a_font_that_has_them_and_only_the_figures():
    font = _font("OpenSans-Regular.ttf")
    assert has_oldstyle_figures(font)
    assert not np.array_equal(text_mask("2015", font, 32), text_mask("2015", font, 32, ("onum",)))
    assert np.array_equal(text_mask("EXIT", font, 32), text_mask("EXIT", font, 32, ("onum",)))
    assert not has_oldstyle_figures(_font("DejaVuSans.ttf"))


def test_old_style_lines_differ_and_other_lines_leave_the_rng_untouched():
    font = _font("OpenSans-Regular.ttf")
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    plain = render_line("Gate 12 at 10:45", font, rng_a, False)
    old = render_line("Gate 12 at 10:45", font, rng_b, False, oldstyle=1.0)
    assert plain.shape[0] == old.shape[0] and not np.array_equal(plain, old)
    # a line without digits, or a font without old-style figures, leaves the rng untouched
    rng_c, rng_d = np.random.default_rng(4), np.random.default_rng(4)
    render_line("EXIT", font, rng_c, True, oldstyle=1.0)
    render_line("EXIT", font, rng_d, True)
    assert rng_c.random() == rng_d.random()
    assert 0 < OLDSTYLE_FIGURES < 1
