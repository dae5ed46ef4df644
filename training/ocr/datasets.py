"""Building and loading the OCR datasets (deterministic for a seed, with progress)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.contract import ImageSpec
from pipeline.skills.ocr.preprocess import line_to_gray
from training.common import progress
from training.ocr.fonts import split_fonts, unseen_fonts
from training.ocr.real_lines import render_real_line
from training.ocr.render import render_line
from training.ocr.text import TextSampler

REC_HEIGHT = 32
REC_MAX_WIDTH = 800
# Training lines with digits in a font that has old-style figures draw them so this often: no training
# family uses them by default, and book faces that do (EB Garamond, Libertine) read `2000` as `zo00`.
OLDSTYLE_FIGURES = 0.4
# Real-looking training lines with CJK pieces set them against the Latin words this often (0-0.15 em)
# instead of a word gap apart. Added for recogniser run 7, which read `FLIGHT 日期 DATE` as `FLIGHTDATE`;
# that ticket's CJK turned out to sit a word gap away, so this is not the fix for it (the decoder's
# WORD_GAP_STEPS is), but the fine-tune trained with it read the tune photos better (README, OCR).
TIGHT_CJK = 0.5
REC_SPEC = ImageSpec(color="GRAY", layout="NCHW", scale=1 / 255, mean=[0.5], std=[0.5], height=REC_HEIGHT,
                     width=0, resize="keep_height")


def font_set(held_out: bool | str) -> list[str]:
    """Training fonts (False), the held-out families (True) or the second held-out group ("unseen")."""
    if held_out == "unseen":
        return unseen_fonts()
    train_fonts, held_fonts = split_fonts()
    return held_fonts if held_out else train_fonts


def build_lines(n: int, seed: int, held_out: bool | str, degraded_fraction: float, desc: str = "lines"):
    """n rendered lines as (gray uint8 arrays of height 32, texts, font files)."""
    fonts = font_set(held_out)
    sampler = TextSampler(seed)
    rng = np.random.default_rng(seed + 1_000_003)
    images, texts, used = [], [], []
    for _ in progress(range(n), desc=desc):
        text = sampler.line()
        font = fonts[rng.integers(len(fonts))]
        img = render_line(text, font, rng, degraded=rng.random() < degraded_fraction,
                          oldstyle=0.0 if held_out else OLDSTYLE_FIGURES)
        images.append(line_to_gray(img, REC_HEIGHT, REC_MAX_WIDTH))
        texts.append(text)
        used.append(font)
    return images, texts, used


def build_real_lines(n: int, seed: int, held_out: bool | str, desc: str = "real-looking lines"):
    """n real-looking lines (training/ocr/real_lines.py), as build_lines returns them."""
    fonts = font_set(held_out)
    sampler = TextSampler(seed)
    rng = np.random.default_rng(seed + 2_000_003)
    images, texts, used = [], [], []
    for _ in progress(range(n), desc=desc):
        img, text = render_real_line(sampler, fonts, rng, 0.0 if held_out else TIGHT_CJK)
        images.append(line_to_gray(img, REC_HEIGHT, REC_MAX_WIDTH))
        texts.append(text)
        used.append("")
    return images, texts, used


def save_lines(path: Path, images, texts, fonts) -> None:
    widths = np.array([im.shape[1] for im in images])
    flat = np.concatenate([im.reshape(-1) for im in images])
    np.savez(path, flat=flat, widths=widths, texts=np.array(texts), fonts=np.array(fonts))


def load_lines(path: Path):
    data = np.load(path)
    widths, flat = data["widths"], data["flat"]
    offsets = np.concatenate([[0], np.cumsum(widths * REC_HEIGHT)])
    images = [flat[offsets[i]:offsets[i + 1]].reshape(REC_HEIGHT, widths[i]) for i in range(len(widths))]
    return images, [str(t) for t in data["texts"]], [str(f) for f in data["fonts"]]


def ensure_lines(root: Path, name: str, n: int, seed: int, held_out: bool | str, degraded_fraction: float,
                 real_looking: bool = False):
    """Build once, then reuse: the file name carries every parameter that changes its content."""
    kind = ("-real" + ("" if held_out else f"-t{TIGHT_CJK}")) if real_looking else \
        "" if held_out else f"-o{OLDSTYLE_FIGURES}"
    path = root / f"{name}-n{n}-s{seed}-d{degraded_fraction}{kind}.npz"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        lines = build_real_lines(n, seed, held_out, desc=name) if real_looking else \
            build_lines(n, seed, held_out, degraded_fraction, desc=name)
        save_lines(path, *lines)
    return load_lines(path)
