"""`perceive train ocr-det`: a small FPN segmentation CNN that lights up text-line cores.

Output is a probability map at 1/2 resolution; pipeline/skills/ocr/db.py turns it into line
boxes. Trained on random crops of synthetic scenes from the training font families;
precision and recall at IoU 0.5 are measured on whole scenes from held-out families.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from pipeline.config.loader import option
from pipeline.errors import ConfigError
from pipeline.contract import ImageSpec
from pipeline.skills.ocr.db import DetectParams, boxes_from_map, core_of
from training.common import RunDir, progress, set_seed
from training.ocr.det_metrics import match_boxes
from training.ocr.scenes import load_scenes, scene_set
from training.registry import TRAINERS

DET_SPEC = ImageSpec(color="RGB", layout="NCHW", scale=1 / 255, mean=[0.485, 0.456, 0.406],
                     std=[0.229, 0.224, 0.225], height=0, width=0, resize="none")
OUTPUT_STRIDE = 2


@dataclass(kw_only=True)
class Config:
    seed: int = option(0, "Random seed.")
    data_dir: str = option("/work/data/ocr/scenes", "Where generated scenes are cached.")
    train_scenes: int = option(5000, "Training scenes (training font families).")
    eval_scenes: int = option(200, "Held-out scenes (held-out font families) for precision / recall.")
    steps: int = option(6000, "Optimiser steps.")
    batch: int = option(8, "Crops per step.")
    crop: int = option(320, "Square training crop size (multiple of 32).")
    lr: float = option(2e-3, "Peak learning rate (one-cycle).")
    widths: list[int] = option(factory=lambda: [16, 24, 48, 64, 96], doc="Channels at strides 2, 4, 8, 16, 32.")
    fpn: int = option(32, "FPN channels.")
    eval_every: int = option(1000, "Steps between held-out evaluations.")
    threads: int = option(1, "Torch threads.")
    init: str = option("", "Warm start: a `perceive train ocr-det` checkpoint.pt; '' = random weights.")
    negatives: str = option("", "Mined text-free scenes (python -m training.ocr.det_mining) mixed into the batches.")
    negative_share: float = option(0.25, "Share of the crops taken from `negatives`.")


def build_model(cfg: Config):
    import torch
    from torch import nn
    import torch.nn.functional as F

    def cbr(cin, cout, stride=1, k=3):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))

    w = cfg.widths

    class Detector(nn.Module):
        """(N, 3, H, W), H and W multiples of 32 -> (N, 1, H/2, W/2) text-core logits."""

        def __init__(self):
            super().__init__()
            self.stem = cbr(3, w[0], 2)
            self.stages = nn.ModuleList([nn.Sequential(cbr(w[i], w[i + 1], 2), cbr(w[i + 1], w[i + 1]))
                                         for i in range(4)])
            self.lateral = nn.ModuleList([nn.Conv2d(c, cfg.fpn, 1) for c in w[1:]])
            self.fuse = cbr(4 * cfg.fpn, cfg.fpn)
            self.up = nn.Sequential(nn.ConvTranspose2d(cfg.fpn, cfg.fpn // 2, 2, 2, bias=False),
                                    nn.BatchNorm2d(cfg.fpn // 2), nn.ReLU(inplace=True))
            self.head = nn.Conv2d(cfg.fpn // 2, 1, 1)

        def forward(self, x):
            feats, f = [], self.stem(x)
            for stage in self.stages:
                f = stage(f)
                feats.append(f)
            laterals = [lat(f) for lat, f in zip(self.lateral, feats)]
            for i in range(len(laterals) - 2, -1, -1):  # top-down
                laterals[i] = laterals[i] + F.interpolate(laterals[i + 1], size=laterals[i].shape[2:])
            size = laterals[0].shape[2:]
            merged = torch.cat([laterals[0]] + [F.interpolate(lat, size=size) for lat in laterals[1:]], 1)
            return self.head(self.up(self.fuse(merged)))

    torch.manual_seed(cfg.seed)
    return Detector()


def target_map(quads: list, shape: tuple[int, int]) -> np.ndarray:
    """Line cores drawn at output resolution."""
    out = np.zeros((shape[0] // OUTPUT_STRIDE, shape[1] // OUTPUT_STRIDE), np.float32)
    for q in quads:
        core = core_of(np.asarray(q, np.float32)) / OUTPUT_STRIDE
        cv2.fillPoly(out, [core.round().astype(np.int32)], 1.0)
    return out


def random_crop(image: np.ndarray, quads: list, size: int, rng: np.random.Generator):
    scale = rng.uniform(0.6, 1.3)
    img = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = img.shape[:2]
    if h < size or w < size:
        img = cv2.copyMakeBorder(img, 0, max(0, size - h), 0, max(0, size - w), cv2.BORDER_REPLICATE)
    y, x = rng.integers(0, img.shape[0] - size + 1), rng.integers(0, img.shape[1] - size + 1)
    moved = [np.asarray(q, np.float32) * scale - [x, y] for q in quads]
    return img[y:y + size, x:x + size], moved


def to_input(bgr: np.ndarray) -> np.ndarray:
    from pipeline.preprocess.image import convert_color, normalize
    return normalize(convert_color(bgr, "RGB"), DET_SPEC)


def detect(model, bgr: np.ndarray, params: DetectParams):
    """Whole-scene detection as the runtime does it (scene sizes are multiples of 32)."""
    import torch
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        prob = torch.sigmoid(model(torch.from_numpy(to_input(bgr)).to(device)).float())[0, 0].cpu().numpy()
    model.train()
    quads, scores = boxes_from_map(prob, params)
    return [q * OUTPUT_STRIDE for q in quads], scores


def evaluate(model, root: Path, labels: list[dict], params: DetectParams) -> dict:
    tp = n_pred = n_true = 0
    for item in labels:
        image = cv2.imread(str(root / item["file"]))
        quads, _ = detect(model, image, params)
        matched = match_boxes(quads, [np.asarray(q) for q in item["quads"]])
        tp, n_pred, n_true = tp + matched, n_pred + len(quads), n_true + len(item["quads"])
    precision, recall = tp / max(1, n_pred), tp / max(1, n_true)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / max(1e-9, precision + recall),
            "scenes": len(labels), "lines": n_true}


@TRAINERS.register("ocr-det", "OCR text detector (small FPN CNN, DB-style line cores) on synthetic scenes")
def train(cfg: Config, run: RunDir) -> dict:
    import torch
    dist = run.dist
    set_seed(cfg.seed, cfg.threads)
    train_root, eval_root = dist.main_first(lambda: (scene_set(cfg.data_dir, "train", cfg.train_scenes),
                                                     scene_set(cfg.data_dir, "heldout", cfg.eval_scenes)))
    train_labels, eval_labels = load_scenes(train_root), load_scenes(eval_root)
    # the scenes of every global batch, the same on every rank; each rank crops its part
    picks = np.random.default_rng(cfg.seed).integers(0, len(train_labels), (cfg.steps, cfg.batch))
    negative_crops = 0
    if cfg.negatives:   # mined negatives are appended to the labels, their files given by absolute path
        negatives = [{**item, "file": str(Path(cfg.negatives).resolve() / item["file"])}
                     for item in load_scenes(Path(cfg.negatives))]
        if not negatives:
            raise ConfigError(f"negatives={cfg.negatives}: no scenes in its labels.json")
        rng = np.random.default_rng(cfg.seed + 1)
        swap = rng.random(picks.shape) < cfg.negative_share
        picks[swap] = len(train_labels) + rng.integers(0, len(negatives), int(swap.sum()))
        train_labels, negative_crops = train_labels + negatives, int(swap.sum())
    plan = [dist.part(p) for p in picks]
    model = build_model(cfg)
    if cfg.init:
        model.load_state_dict(torch.load(cfg.init, map_location="cpu", weights_only=False)["model"])
    model = dist.wrap(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    saved = run.load_state(model, opt, sched)
    start, best, losses = saved.get("step", 0), saved.get("best"), saved.get("losses", [])
    params = DetectParams()
    crops = dist.batches(plan, partial(make_batch, cfg, train_root, train_labels), cfg.seed, start=start)
    for step, (x, target) in zip(progress(range(start + 1, cfg.steps + 1), desc="ocr-det", initial=start,
                                          total=cfg.steps), crops):
        with dist.autocast():
            logits = model(dist.tensor(x))
        loss = segmentation_loss(logits.float(), dist.tensor(target))
        dist.step(loss, opt, model)
        sched.step()
        losses.append(loss.item())
        if step % cfg.eval_every == 0 or step == cfg.steps:
            scores = dist.on_main(lambda: evaluate(dist.unwrap(model), eval_root, eval_labels, params))
            run.log(train_loss=dist.mean(float(np.mean(losses[-cfg.eval_every:]))), heldout_f1=scores["f1"])
            if best is None or scores["f1"] >= best["f1"]:
                best = {**scores, "step": step}
                run.save_checkpoint(model, metrics=best)
            run.save_state(model, opt, sched, step=step, best=best, losses=losses)
    losses = dist.mean(np.array(losses))  # each rank's step losses -> the global batch's
    run.plot_curves()
    return {"heldout": best, "negative_crops": negative_crops, "first_loss": float(np.mean(losses[:10])), "last_loss": float(np.mean(losses[-10:]))}


def make_batch(cfg: Config, root: Path, labels: list[dict], picks: np.ndarray, rng: np.random.Generator):
    """Random crops of the picked scenes and their target maps (run in DataLoader workers)."""
    xs, ys = [], []
    for k in picks:
        item = labels[k]
        crop, quads = random_crop(cv2.imread(str(root / item["file"])), item["quads"], cfg.crop, rng)
        xs.append(to_input(crop))
        ys.append(target_map(quads, crop.shape[:2])[None])
    return np.concatenate(xs), np.stack(ys)


def segmentation_loss(logits, target):
    """Binary cross-entropy plus Dice: Dice keeps thin, rare text cores from being ignored."""
    import torch
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    dice = 1 - (2 * (prob * target).sum() + 1) / (prob.sum() + target.sum() + 1)
    return bce + dice
