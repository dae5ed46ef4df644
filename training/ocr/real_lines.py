"""Real-looking text lines for the recogniser (issue 17): what the detector hands over on real photos.

Against the plain generator (render.py) these add what the real tune photos showed it misreading:
coloured text on coloured plates and on real photo texture, condensed / display / bold faces,
letter-spaced signage (`P A S S` read with spaces), mostly upper-case sign words, CJK glyphs
beside Latin text (labelled as a word gap, so their junk does not glue onto the Latin words),
small text upsampled from a few pixels, perspective, loose crops with bits of neighbouring
lines or the plate's edge, and the camera degradations of render.degrade.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.ocr.fonts import caps_only, cjk_font
from training.ocr.render import background_photos, degrade
from training.ocr.text import TextSampler

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
VIDEO_BACKGROUND_FRAMES = 4     # frames taken from each real face video as texture
CJK_FIRST, CJK_LAST = 0x4E00, 0x7FFF   # common CJK ideographs
MAX_CORNER_SHIFT = 0.04        # perspective: corner shift, share of the crop height
MIN_MARGIN = 0.08              # crop margins at least this share of the font size (> the corner shift)
MIN_WORD_GAP = 0.3              # word gaps at least this share of the font size
MIN_LUMA_GAP = 70               # text and plate differ at least this much in gray (the model sees gray)


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=1)
def texture_photos() -> list[np.ndarray]:
    """scikit-image sample photos plus frames of the real face videos (when ../shared/data/real is present)."""
    photos = list(background_photos())
    for video in sorted((REAL / "faces").rglob("*.mkv"))[:12] + sorted((REAL / "faces").rglob("*.mp4"))[:12]:
        cap = cv2.VideoCapture(str(video))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        for k in range(VIDEO_BACKGROUND_FRAMES):
            cap.set(cv2.CAP_PROP_POS_FRAMES, k * count // VIDEO_BACKGROUND_FRAMES)
            ok, frame = cap.read()
            if ok:
                photos.append(frame)
        cap.release()
    return photos


def _luma(bgr: np.ndarray) -> float:
    return float(0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2])


def _colour_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(text, plate) BGR colours of any hue whose gray levels differ by at least MIN_LUMA_GAP."""
    while True:
        fg, bg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if rng.random() < 0.4:  # a saturated plate colour (red, blue, green signs)
            bg = np.zeros(3)
            bg[rng.integers(3)] = rng.uniform(120, 255)
            bg += rng.uniform(0, 60, 3)
        if rng.random() < 0.4:  # white, black or gray text
            fg = np.full(3, 255.0 if rng.random() < 0.5 else rng.uniform(0, 60))
        if abs(_luma(fg) - _luma(bg)) >= MIN_LUMA_GAP:
            return fg, np.clip(bg, 0, 255)


def _content(sampler: TextSampler, rng: np.random.Generator, font: str, cjk: str | None) -> list[tuple[str, str]]:
    """Pieces (text, font) of one line and, implied, its label: CJK pieces count as one space."""
    text = sampler.line(int(rng.integers(4, 28)))
    if caps_only(font) or rng.random() < 0.4:
        text = text.upper()
    if not cjk or rng.random() >= 0.25:
        return [(text, font)]
    # CJK runs between words as well as at the ends (labels, tickets: "航班 FLIGHT 日期 DATE")
    words, pieces = text.split(" "), []
    for word in words:
        if rng.random() < 0.35:
            glyphs = "".join(chr(int(c)) for c in rng.integers(CJK_FIRST, CJK_LAST, rng.integers(1, 5)))
            pieces.append((glyphs, cjk))
        pieces.append((word, font))
    if rng.random() < 0.3:
        pieces.append(("".join(chr(int(c)) for c in rng.integers(CJK_FIRST, CJK_LAST, 2)), cjk))
    return pieces


def label(pieces: list[tuple[str, str]], cjk: str | None) -> str:
    """What the recogniser should output: the Latin text, a run of CJK glyphs as one word gap."""
    return " ".join(" ".join(" " if f == cjk else t for t, f in pieces).split())   # pieces are a word gap apart


def _ink(pieces: list[tuple[str, str]], size: int, tracking: float, cjk_gap: float | None = None) -> np.ndarray:
    """Coverage mask of the pieces on one baseline; ``tracking`` (share of the size) spaces the letters;
    ``cjk_gap`` (share of the size), when given, is the gap on either side of a CJK piece instead of a word gap."""
    width = sum(int(_font(f, size).getlength(t)) + len(t) * int(2 * tracking * size + MIN_WORD_GAP * size + 1)
                + size // 3 for t, f in pieces)
    canvas = Image.new("L", (width + 2 * size, 3 * size), 0)
    draw, x, base = ImageDraw.Draw(canvas), size // 2, 2 * size
    for i, (text, path) in enumerate(pieces):
        font = _font(path, size)
        if i and cjk_gap is not None and _cjk_font(path, pieces[i - 1][1]):
            x += cjk_gap * size   # a CJK label set against the Latin word (tickets: "日期DATE")
        elif i:   # a word gap between pieces, as wide as the line's own word gaps
            x += size // 3 + 2 * tracking * size
        # letter by letter when letter-spaced, else word by word
        for unit in (text if tracking else text.replace(" ", "\0 \0").split("\0")):
            if unit == " ":   # a word gap: never narrower than MIN_WORD_GAP (a narrow face's space, shrunk
                # and blurred, is a label the image does not show), plus the letter spacing twice over
                x += max(font.getlength(" "), MIN_WORD_GAP * size) + 2 * tracking * size
                continue
            draw.text((x, base), unit, font=font, fill=255, anchor="ls")
            x += font.getlength(unit) + tracking * size
    mask = np.asarray(canvas)
    rows, cols = np.flatnonzero(mask.max(1)), np.flatnonzero(mask.max(0))
    if not len(rows):
        return mask[:size, :size]
    ascent, descent = _font(pieces[0][1], size).getmetrics()   # keep the line box, not only the ink
    top, bottom = min(rows[0], base - ascent), max(rows[-1] + 1, base + descent)
    return mask[max(0, top):bottom, cols[0]:cols[-1] + 1]


def _plate(rng: np.random.Generator, h: int, w: int, colour: np.ndarray) -> np.ndarray:
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = colour
    if rng.random() < 0.6:
        photos = texture_photos()
        photo = photos[rng.integers(len(photos))]
        scale = max(h / photo.shape[0], w / photo.shape[1]) * rng.uniform(1.0, 3.0)
        ch, cw = min(photo.shape[0], int(np.ceil(h / scale))), min(photo.shape[1], int(np.ceil(w / scale)))
        y, x = rng.integers(0, photo.shape[0] - ch + 1), rng.integers(0, photo.shape[1] - cw + 1)
        crop = cv2.resize(photo[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        strength = rng.uniform(0.1, 0.4)   # the texture must not drown the text
        bg = bg * (1 - strength) + (crop - crop.mean() + colour) * strength
    return np.clip(bg, 0, 255)


def _clutter(img: np.ndarray, rng: np.random.Generator, fg: np.ndarray, margin_y: int) -> None:
    """A plate edge or a sliver of the neighbouring line in the crop's top or bottom margin."""
    h, w = img.shape[:2]
    if margin_y < 2 or rng.random() < 0.6:
        return
    offset = int(rng.integers(0, max(1, margin_y // 2)))
    y = offset if rng.random() < 0.5 else h - 1 - offset
    thickness = int(rng.integers(1, max(2, margin_y // 2)))
    x0, x1 = sorted(rng.integers(0, w, 2))
    cv2.rectangle(img, (int(x0), y), (int(x1), y + thickness - 1), fg.tolist(), -1)


def _warp(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small perspective (the detector's box is never exactly the plate's); corners move by at most
    MAX_CORNER_SHIFT of the height, less than the margins, so no ink leaves the crop (a glyph cut off
    but still in the label teaches the model to drop end letters)."""
    h, w = img.shape[:2]
    jitter = rng.uniform(-MAX_CORNER_SHIFT, MAX_CORNER_SHIFT, (4, 2)) * h
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = (src + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _cjk_font(*paths: str) -> bool:
    return cjk_font() in paths


def render_real_line(sampler: TextSampler, fonts: list[str], rng: np.random.Generator,
                     tight_cjk: float = 0.0) -> tuple[np.ndarray, str]:
    """One real-looking line crop (BGR) and its label. ``tight_cjk``: chance that a line's CJK pieces touch
    their Latin neighbours (the rng is drawn on only for lines with CJK pieces, and only when it is set)."""
    font, cjk = fonts[rng.integers(len(fonts))], cjk_font()
    pieces = _content(sampler, rng, font, cjk)
    size = int(rng.integers(24, 64))
    # letter spacing only where it cannot pass for word gaps (0.15 em taught the model to drop real spaces)
    tracking = rng.uniform(0.4, 0.8) if rng.random() < 0.06 else 0.0
    touching = tight_cjk > 0 and len(pieces) > 1 and rng.random() < tight_cjk
    mask = _ink(pieces, size, tracking, rng.uniform(0.0, 0.15) if touching else None)
    top, bottom = (int(rng.integers(int(MIN_MARGIN * size), max(2, size // 3))) for _ in range(2))
    side = int(rng.integers(int(MIN_MARGIN * size), max(2, size // 2)))
    mask = cv2.copyMakeBorder(mask, top, bottom, side, side, cv2.BORDER_CONSTANT, value=0)
    fg, bg_colour = _colour_pair(rng)
    alpha = (mask.astype(np.float32) / 255)[..., None]
    img = (_plate(rng, *mask.shape, bg_colour) * (1 - alpha) + fg * alpha).astype(np.uint8)
    _clutter(img, rng, fg, min(top, bottom))
    if rng.random() < 0.7:
        img = _warp(img, rng)
    if rng.random() < 0.5:  # small text: the detector hands over a crop only a few pixels high
        scale = rng.uniform(14, 28) / img.shape[0]
        if scale < 1:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.15:  # motion blur
        k = int(rng.integers(3, 7))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1 / k
        img = cv2.filter2D(img, -1, kernel)
    return degrade(img, rng), label(pieces, cjk)
