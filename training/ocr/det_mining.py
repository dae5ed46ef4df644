"""Hard negatives for the OCR detector: real text-free views on which a trained detector still finds lines.

    python -m training.ocr.det_mining --checkpoint runs/ocr-det-*/checkpoint.pt --out DIR [--tries 3000]

Views are random crops of the real text-free photos of real_backgrounds.py plus Debian's abstract
wallpapers (mate-backgrounds, plasma-workspace-wallpapers: art with no lettering), zoomed, tilted
and degraded like the training scenes. Every view on which the detector finds a line is kept as a
text-free scene (labels.json with no quads, the scene-set format), to be mixed into a second
training run (`perceive train ocr-det --set negatives=DIR --set init=CHECKPOINT`). The real
evaluation photos of export/ocr_real.py are never used.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from pipeline.skills.ocr.db import DetectParams
from training.common import progress
from training.ocr.real_backgrounds import LONG_SIDE, PACKAGES, real_photos, shrink
from training.ocr.render import degrade
from training.ocr.scenes import SCENE_SIZE, _perspective

MATE_ART = [f"/usr/share/backgrounds/mate/abstract/{n}" for n in ("Elephants.jpg", "Flow.png", "Gulp.png")] + \
    [f"/usr/share/backgrounds/mate/desktop/Ubuntu-Mate-{n}-no-logo.png" for n in ("Cold", "Dark", "Radioactive", "Warm")]
PLASMA_ART = ("Altai", "Autumn", "BytheWater", "Canopee", "Cascade", "Cluster", "Elarun", "Flow", "FlyingKonqui",
              "Honeywave", "IceCold", "Kay", "Kokkini", "MilkyWay", "Opal", "PastelHills", "Patak", "SafeLanding",
              "Shell")


def art_files() -> list[Path]:
    files = [Path(f) for f in MATE_ART]
    for name in PLASMA_ART:
        images = sorted(Path("/usr/share/wallpapers", name, "contents", "images").glob("*.*"),
                        key=lambda p: int(p.stem.split("x")[0]) if p.stem.split("x")[0].isdigit() else 0)
        files.append(images[-1] if images else Path("/usr/share/wallpapers", name))
    return files


def mining_photos() -> list[np.ndarray]:
    photos = list(real_photos())
    for path in art_files():
        img = cv2.imread(str(path)) if path.is_file() else None
        if img is None:
            raise FileNotFoundError(f"{path} missing: apt-get install {PACKAGES}")
        photos.append(shrink(img))
    assert max(max(p.shape[:2]) for p in photos) <= LONG_SIDE
    return photos


def random_view(photos: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A 480x640 view of a random photo: zoomed in up to 4x, mirrored, tilted, degraded."""
    H, W = SCENE_SIZE
    photo = photos[rng.integers(len(photos))]
    scale = max(H / photo.shape[0], W / photo.shape[1]) * rng.uniform(1.0, 4.0)
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    y, x = rng.integers(0, big.shape[0] - H + 1), rng.integers(0, big.shape[1] - W + 1)
    view = big[y:y + H, x:x + W]
    view = view[:, ::-1].copy() if rng.random() < 0.5 else view
    view, _ = _perspective(view, [], rng)
    return degrade(view, rng)


def mine(checkpoint: str, out: Path, tries: int, seed: int) -> dict:
    import torch
    from training.common import load_checkpoint
    from training.ocr import det as det_train
    torch.set_num_threads(1)
    _, model, _ = load_checkpoint(checkpoint, det_train, "ocr-det")
    photos, rng, params = mining_photos(), np.random.default_rng(seed), DetectParams()
    out.mkdir(parents=True, exist_ok=True)
    labels, lines = [], 0
    for i in progress(range(tries), desc="mining"):
        view = random_view(photos, rng)
        quads, _ = det_train.detect(model, view, params)
        if quads:
            name = f"neg{i:06d}.jpg"
            cv2.imwrite(str(out / name), view, [cv2.IMWRITE_JPEG_QUALITY, 95])
            labels.append({"file": name, "quads": [], "texts": []})
            lines += len(quads)
    (out / "labels.json").write_text(json.dumps(labels))
    return {"tries": tries, "kept": len(labels), "false_lines": lines, "photos": len(photos), "checkpoint": checkpoint}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--tries", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=21)
    args = ap.parse_args()
    print(json.dumps(mine(args.checkpoint, args.out, args.tries, args.seed), indent=2))


if __name__ == "__main__":
    main()
