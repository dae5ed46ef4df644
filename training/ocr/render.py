"""Rendering text lines and scenes, and camera-like degradations. Images are OpenCV BGR uint8."""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from training.ocr.real_backgrounds import real_photos


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def background_photos() -> tuple[np.ndarray, ...]:
    """Real text-free photos (real_backgrounds.py): never the real evaluation photos."""
    return real_photos()


def text_mask(text: str, font_path: str, size: int, features: tuple[str, ...] = ()) -> np.ndarray:
    """Anti-aliased coverage (0-255) of ``text``, cropped to the ink's line box (ascent to descent).
    ``features``: OpenType features to turn on (e.g. ``("onum",)``; needs Pillow's raqm layout)."""
    font = _font(font_path, size)
    ascent, descent = font.getmetrics()
    feats = list(features) or None
    width = int(np.ceil(font.getlength(text, features=feats))) + 2
    img = Image.new("L", (max(width, 1), ascent + descent + 2), 0)
    ImageDraw.Draw(img).text((1, 1), text, font=font, fill=255, features=feats)
    return np.asarray(img)


@lru_cache(maxsize=512)
def has_oldstyle_figures(font_path: str) -> bool:
    """Whether the font draws different figures with the OpenType ``onum`` feature (old-style figures,
    as book faces such as EB Garamond draw by default: ``2`` like ``z``, ``1`` like ``I``)."""
    if not features.check("raqm"):   # without raqm Pillow ignores OpenType features
        return False
    return not np.array_equal(text_mask("1250", font_path, 32), text_mask("1250", font_path, 32, ("onum",)))


def _contrasting_colours(rng: np.random.Generator, low_contrast: bool) -> tuple[np.ndarray, np.ndarray]:
    gap = rng.uniform(40, 90) if low_contrast else rng.uniform(110, 240)
    base = rng.uniform(0, 255 - gap)
    dark, light = base, base + gap
    tint = rng.uniform(-25, 25, 3)
    fg, bg = (np.array([dark] * 3) + tint, np.array([light] * 3) + tint)
    if rng.random() < 0.2:  # light text on a dark background
        fg, bg = bg, fg
    return np.clip(fg, 0, 255), np.clip(bg, 0, 255)


def compose(mask: np.ndarray, background: np.ndarray, fg: np.ndarray) -> np.ndarray:
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    return (background.astype(np.float32) * (1 - alpha) + fg * alpha).astype(np.uint8)


def random_background(rng: np.random.Generator, h: int, w: int, colour: np.ndarray, textured: bool) -> np.ndarray:
    """Flat colour, a gradient, or a faded crop of a photo, around ``colour``."""
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = colour
    if textured:
        photo = background_photos()[rng.integers(len(background_photos()))]
        scale = max(h / photo.shape[0], w / photo.shape[1]) * rng.uniform(1.0, 2.0)
        big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        y, x = rng.integers(0, big.shape[0] - h + 1), rng.integers(0, big.shape[1] - w + 1)
        crop = big[y:y + h, x:x + w].astype(np.float32)
        strength = rng.uniform(0.15, 0.5)  # keep the text readable: the photo is faded toward the colour
        bg = bg * (1 - strength) + (crop - crop.mean() + colour) * strength
    elif rng.random() < 0.5:
        ramp = np.linspace(rng.uniform(-30, 0), rng.uniform(0, 30), w)[None, :, None]
        bg += ramp
    return np.clip(bg, 0, 255)


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like: uneven light, shadow, blur, noise, JPEG. Geometry is applied by the callers."""
    out = img.astype(np.float32)
    h, w = out.shape[:2]
    if rng.random() < 0.6:  # uneven lighting
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * gx / max(w, 1) + np.sin(angle) * gy / max(h, 1))
        out *= (1 + rng.uniform(0.1, 0.5) * (ramp - ramp.mean()))[..., None]
    if rng.random() < 0.3:  # a soft shadow edge
        x0 = rng.integers(0, w)
        shade = np.ones(w, np.float32)
        shade[x0:] = rng.uniform(0.5, 0.85)
        out *= cv2.GaussianBlur(shade[None, :], (0, 0), max(1, w / 30))[0][None, :, None]
    if rng.random() < 0.6:
        sigma = rng.uniform(0.3, 1.3)
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    if rng.random() < 0.7:
        out += rng.normal(0, rng.uniform(2, 12), out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def render_line(text: str, font_path: str, rng: np.random.Generator, degraded: bool,
                oldstyle: float = 0.0) -> np.ndarray:
    """A single text line as a recogniser crop would see it: some margin, maybe skewed and degraded.
    ``oldstyle``: chance of old-style figures for a line with digits in a font that has them (the rng is
    only drawn on for such lines, so evaluation sets rendered with 0 are unchanged)."""
    size = int(rng.integers(22, 48))
    use = bool(oldstyle) and any(c.isdigit() for c in text) and has_oldstyle_figures(font_path) \
        and rng.random() < oldstyle
    mask = text_mask(text, font_path, size, ("onum",) if use else ())
    pad_y, pad_x = int(rng.integers(1, max(2, size // 4))), int(rng.integers(1, max(2, size // 2)))
    mask = cv2.copyMakeBorder(mask, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0)
    fg, bg_colour = _contrasting_colours(rng, low_contrast=degraded and rng.random() < 0.25)
    if degraded:
        h, w = mask.shape
        angle = rng.uniform(-2.5, 2.5)
        shear = rng.uniform(-0.08, 0.08)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        m[0, 1] += shear
        mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        background = random_background(rng, h, w, bg_colour, textured=rng.random() < 0.5)
        return degrade(compose(mask, background, fg), rng)
    background = random_background(rng, *mask.shape, bg_colour, textured=False)
    return compose(mask, background, fg)
