"""Real text-free photos for OCR training (issue 17): what the detector must learn to ignore.

Sources, none of them among the real evaluation photos of export/ocr_real.py:
- Debian's ``mate-backgrounds`` (nature photos, GPL-2+) and ``plasma-workspace-wallpapers``
  (the photographs among them, GPL-2+): leaves, grass, bark, water, sand, sky, a forest, a pier;
- scikit-image sample photos that are *not* in ../shared/data/real/scenes (the ones that are,
  brick, camera, chelsea, coffee, grass, gravel, hubble_deep_field, retina and rocket, are
  evaluation photos and are never trained on).
Photos are scaled to a long side of at most LONG_SIDE to keep memory small.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

LONG_SIDE = 1280
MATE = Path("/usr/share/backgrounds/mate/nature")
MATE_PHOTOS = ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
               "Storm", "TwoWings", "Wood", "YellowFlower")
PLASMA = Path("/usr/share/wallpapers")
PLASMA_PHOTOS = ("ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                 "OneStandsOut", "Path", "Volna", "summer_1am")
SKIMAGE_PHOTOS = ("moon", "horse", "immunohistochemistry", "cell")   # astronaut, coins, clock: lettering; cat is chelsea
PACKAGES = "mate-backgrounds plasma-workspace-wallpapers"


def shrink(img: np.ndarray) -> np.ndarray:
    scale = LONG_SIDE / max(img.shape[:2])
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img


def wallpaper_files() -> list[Path]:
    """The wallpaper photos' files: the largest image of each Plasma wallpaper."""
    files = [MATE / f"{name}.jpg" for name in MATE_PHOTOS]
    for name in PLASMA_PHOTOS:
        images = sorted((PLASMA / name / "contents" / "images").glob("*.jpg"),
                        key=lambda p: int(p.stem.split("x")[0]) if p.stem.split("x")[0].isdigit() else 0)
        files.append(images[-1] if images else PLASMA / name)
    return files


@lru_cache(maxsize=1)
def wallpaper_photos() -> tuple[np.ndarray, ...]:
    """BGR uint8 photos; a missing package is an error that names it (apt-get install ...)."""
    photos = []
    for path in wallpaper_files():
        img = cv2.imread(str(path)) if path.is_file() else None
        if img is None:
            raise FileNotFoundError(f"{path} missing: apt-get install {PACKAGES}")
        photos.append(shrink(img))
    return tuple(photos)


@lru_cache(maxsize=1)
def skimage_photos() -> tuple[np.ndarray, ...]:
    import skimage.data
    from skimage.util import img_as_ubyte
    photos = []
    for name in SKIMAGE_PHOTOS:
        img = img_as_ubyte(getattr(skimage.data, name)())
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2BGR)
        photos.append(img.astype(np.uint8))
    return tuple(photos)


def real_photos() -> tuple[np.ndarray, ...]:
    return skimage_photos() + wallpaper_photos()


def photo_crop(rng: np.random.Generator, h: int, w: int, zoom: tuple[float, float] = (1.0, 2.0)) -> np.ndarray:
    """A random h x w float32 crop of a random real photo, scaled by ``zoom`` and maybe mirrored."""
    photos = real_photos()
    photo = photos[rng.integers(len(photos))]
    scale = max(h / photo.shape[0], w / photo.shape[1]) * rng.uniform(*zoom)
    ch, cw = min(photo.shape[0], int(np.ceil(h / scale))), min(photo.shape[1], int(np.ceil(w / scale)))
    y, x = rng.integers(0, photo.shape[0] - ch + 1), rng.integers(0, photo.shape[1] - cw + 1)
    crop = cv2.resize(photo[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop
