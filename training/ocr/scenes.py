"""Detector scenes: several text lines on a photo, texture or plain background, with their boxes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from training.common import progress
from training.ocr.fonts import split_fonts
from training.ocr.real_backgrounds import photo_crop
from training.ocr.render import _contrasting_colours, compose, degrade, random_background, text_mask
from training.ocr.text import TextSampler

SCENE_SIZE = (480, 640)  # height, width
MAX_LINES = 10
PLACEMENT_TRIES = 30
LINE_GAP_PX = 4          # between lines stacked vertically
ROW_GAP_LINE_HEIGHTS = 1.0   # between lines side by side: closer, they read as one line with a word gap
MIN_CONTRAST = 45        # grey levels between a line and the background under it (low-contrast scenes: 2/3)
# Real-photo scenes (issue 17: junk lines on trees, brick and sky): the whole real photo at full
# strength under the text, some lines on sign plates, and some scenes with no text at all.
REAL_FRACTION = 0.4     # of the training scenes
P_TEXT_FREE = 0.3        # of the real-photo scenes
P_PLATE = 0.4            # of the lines on a real photo: a flat sign plate behind the line
PLATE_PAD = 0.35         # plate margin, in line heights
# Dense paragraphs (documents, forms, tickets): a detector trained on scattered lines merges the
# close lines of a page at 640 px. Training and tune scenes only (the held-out set is unchanged).
P_PARAGRAPH = 0.25       # of the scenes: a block of lines in one font, a line pitch of 1.0-1.35 line boxes
PARAGRAPH_LINES = (3, 13)
PARAGRAPH_SIZES = (12, 30)


def _place(mask: np.ndarray, occupied: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    h, w = mask.shape
    H, W = occupied.shape
    if h >= H or w >= W:
        return None
    side = int(ROW_GAP_LINE_HEIGHTS * h)
    for _ in range(PLACEMENT_TRIES):
        y, x = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
        if not occupied[max(0, y - LINE_GAP_PX):y + h + LINE_GAP_PX, max(0, x - side):x + w + side].any():
            return y, x
    return None


def _visible(fg: np.ndarray, patch: np.ndarray, minimum: float, rng: np.random.Generator) -> np.ndarray:
    """``fg``, or if it is too close to the mean of the background under the line, a colour
    ``minimum`` or more grey levels lighter or darker (whichever has room): every labelled line
    can be seen."""
    level, bg = float(fg.mean()), float(patch.mean())
    if abs(level - bg) >= minimum:
        return fg
    shift = rng.uniform(minimum, minimum + 80)
    target = bg - shift if bg - shift >= 0 and (bg + shift > 255 or rng.random() < 0.5) else bg + shift
    return np.clip(fg + (min(255.0, max(0.0, target)) - level), 0, 255)


def _plate(image: np.ndarray, y: int, x: int, h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Paint a flat (slightly shaded) sign plate around the line's box; return the plate's box."""
    H, W = image.shape[:2]
    pad = int(PLATE_PAD * h)
    y0, x0, y1, x1 = max(0, y - pad), max(0, x - pad), min(H, y + h + pad), min(W, x + w + pad)
    colour = rng.uniform(0, 255, 3) if rng.random() < 0.6 else np.full(3, rng.choice([20.0, 235.0]))
    shade = np.linspace(rng.uniform(-20, 0), rng.uniform(0, 20), y1 - y0)[:, None, None]
    image[y0:y1, x0:x1] = np.clip(colour + shade, 0, 255)
    return y0, x0, y1, x1


def _paragraph(image: np.ndarray, occupied: np.ndarray, sampler: TextSampler, font: str, fg: np.ndarray,
               minimum: float, rng: np.random.Generator) -> tuple[list[np.ndarray], list[str]]:
    """A left-aligned block of closely spaced lines; (quads, texts) of the lines drawn."""
    H, W = occupied.shape
    size = int(rng.integers(*PARAGRAPH_SIZES))
    pitch = rng.uniform(1.0, 1.35)
    x, y = int(rng.integers(0, W // 3)), int(rng.integers(0, H // 3))
    quads, texts = [], []
    for _ in range(int(rng.integers(*PARAGRAPH_LINES))):
        text = sampler.line(max_chars=int(rng.integers(8, 60)))
        mask = text_mask(text, font, size)
        h, w = mask.shape
        if y + h > H:
            break
        if x + w <= W and mask.any():
            image[y:y + h, x:x + w] = compose(mask, image[y:y + h, x:x + w], _visible(fg, image[y:y + h, x:x + w],
                                                                                     minimum, rng))
            occupied[y:y + h, x:x + w] = True
            quads.append(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32))
            texts.append(text)
        y += int(np.ceil(pitch * h))
    return quads, texts


def make_scene(sampler: TextSampler, fonts: list[str], rng: np.random.Generator, degraded: bool = True,
               real_fraction: float = 0.0, p_paragraph: float = 0.0):
    """(BGR image, [4x2 quad per line], [text per line]). Quads are the lines' ascent-to-descent boxes."""
    H, W = SCENE_SIZE
    low_contrast = degraded and rng.random() < 0.2
    fg, bg_colour = _contrasting_colours(rng, low_contrast=low_contrast)
    minimum = MIN_CONTRAST * (2 / 3 if low_contrast else 1)
    real = real_fraction > 0 and rng.random() < real_fraction   # no draw without: evaluation scenes unchanged
    if real:
        image = photo_crop(rng, H, W, zoom=(1.0, 3.0))
    else:
        image = random_background(rng, H, W, bg_colour, textured=rng.random() < 0.6).astype(np.float32)
    occupied = np.zeros((H, W), bool)
    quads, texts = [], []
    lines = 0 if real and rng.random() < P_TEXT_FREE else int(rng.integers(1, MAX_LINES + 1))
    if lines and p_paragraph > 0 and rng.random() < p_paragraph:   # no draw without: held-out scenes unchanged
        quads, texts = _paragraph(image, occupied, sampler, fonts[rng.integers(len(fonts))], fg, minimum, rng)
        lines = int(rng.integers(0, 3))     # and a few scattered lines around it
    for _ in range(lines):
        text = sampler.line(max_chars=int(rng.integers(4, 36)))
        mask = text_mask(text, fonts[rng.integers(len(fonts))], int(rng.integers(16, 56)))
        cols = np.where(mask.max(axis=0) > 0)[0]
        if len(cols) == 0:
            continue
        mask = mask[:, cols[0]:cols[-1] + 1]
        spot = _place(mask, occupied, rng)
        if spot is None:
            continue
        y, x = spot
        h, w = mask.shape
        if real and rng.random() < P_PLATE:
            y0, x0, y1, x1 = _plate(image, y, x, h, w, rng)
            occupied[y0:y1, x0:x1] = True
        line_fg = fg if rng.random() < 0.7 else _contrasting_colours(rng, False)[0]
        line_fg = _visible(line_fg, image[y:y + h, x:x + w], minimum, rng)
        image[y:y + h, x:x + w] = compose(mask, image[y:y + h, x:x + w], line_fg)
        occupied[y:y + h, x:x + w] = True
        quads.append(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32))
        texts.append(text)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if degraded:
        image, quads = _perspective(image, quads, rng)
        image = degrade(image, rng)
    return image, quads, texts


def _perspective(image: np.ndarray, quads: list[np.ndarray], rng: np.random.Generator):
    """A small camera tilt and rotation applied to the image and its boxes alike."""
    H, W = image.shape[:2]
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    jitter = rng.uniform(-0.04, 0.04, (4, 2)) * [W, H]
    angle = np.deg2rad(rng.uniform(-4, 4))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = ((src - [W / 2, H / 2]) @ rot.T + [W / 2, H / 2] + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(image, m, (W, H), borderMode=cv2.BORDER_REPLICATE)  # reflect would mirror unlabelled text in
    moved = [cv2.perspectiveTransform(q[None], m)[0] for q in quads]
    return warped, moved


# Scene sets: (seed, font families held out?). Folders carry the generator's version, so a
# change to how scenes are made never reuses scenes cached by an older one.
SCENE_SETS = {"train": (11, False), "heldout": (12, True), "tune": (13, False)}
GENERATOR_VERSION = 4   # 2: lines always visible against their background; side-by-side lines a line height apart
# 3: real-photo scenes (REAL_FRACTION of the training scenes), some text-free; no real evaluation photo among the backgrounds
# 4: dense paragraphs (P_PARAGRAPH of the training and tune scenes); held-out scenes as in 3


def scene_set(data_dir: str | Path, name: str, n: int, desc: str = "") -> Path:
    seed, held_out = SCENE_SETS[name]
    return build_scenes(Path(data_dir) / f"{name}-v{GENERATOR_VERSION}-n{n}", n, seed, held_out, True,
                        desc or f"{name} scenes", REAL_FRACTION if name == "train" else 0.0,
                        P_PARAGRAPH if name in ("train", "tune") else 0.0)


def build_scenes(root: Path, n: int, seed: int, held_out: bool, degraded: bool, desc: str,
                 real_fraction: float = 0.0, p_paragraph: float = 0.0) -> Path:
    """JPEG scenes plus labels.json in ``root``; built once, then reused."""
    done = root / "labels.json"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    train_fonts, held_fonts = split_fonts()
    sampler, rng = TextSampler(seed), np.random.default_rng(seed + 17)
    labels = []
    for i in progress(range(n), desc=desc):
        image, quads, texts = make_scene(sampler, held_fonts if held_out else train_fonts, rng, degraded,
                                        real_fraction, p_paragraph)
        name = f"{i:06d}.jpg"
        cv2.imwrite(str(root / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        labels.append({"file": name, "quads": [q.round(1).tolist() for q in quads], "texts": texts})
    done.write_text(json.dumps(labels))
    return root


def load_scenes(root: Path) -> list[dict]:
    return json.loads((root / "labels.json").read_text())
