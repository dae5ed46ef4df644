"""`perceive train ocr-rec`: CNN + BiLSTM + CTC text-line recogniser, 32 px high, any width.

Trains on lines rendered from the training font families and reports CER and line
accuracy on clean and on camera-degraded lines from font families it never saw.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config.loader import option
from pipeline.skills.ocr.ctc import cer, greedy_decode, softmax
from pipeline.skills.ocr.preprocess import batch_lines
from training.common import RunDir, progress, set_seed
from training.ocr.datasets import REC_SPEC, ensure_lines
from training.ocr.text import ALPHABET
from training.registry import TRAINERS


@dataclass(kw_only=True)
class Config:
    seed: int = option(0, "Random seed.")
    data_dir: str = option("/work/data/ocr/lines", "Where generated line datasets are cached.")
    train_lines: int = option(150000, "Training lines (training font families, 60% degraded).")
    eval_lines: int = option(1000, "Held-out lines per evaluation set (clean and degraded).")
    steps: int = option(12000, "Optimiser steps.")
    batch: int = option(32, "Lines per step (batched by similar width).")
    lr: float = option(1.5e-3, "Peak learning rate (one-cycle).")
    channels: list[int] = option(factory=lambda: [24, 48, 64, 96, 128], doc="Conv widths of the five blocks.")
    hidden: int = option(128, "BiLSTM hidden size per direction.")
    clip: float = option(5.0, "Gradient-norm clip.")
    eval_every: int = option(1000, "Steps between held-out evaluations.")
    threads: int = option(1, "Torch threads.")
    real_lines: int = option(0, "Real-looking lines (training/ocr/real_lines.py) added to the training lines.")
    init: str = option("", "Warm start: a training checkpoint (runs/ocr-rec-*/checkpoint.pt) or an exported fp32 "
                           "recogniser (pipeline/models/ocr_rec.fp32.onnx); '' = random.")
    select_on: list[str] = option(factory=lambda: ["heldout_clean"],
                                  doc="Evaluation sets whose mean CER picks the checkpoint kept.")


def build_model(cfg: Config, classes: int = len(ALPHABET) + 1):
    import torch
    from torch import nn

    def block(cin, cout, pool):
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        return layers + ([nn.MaxPool2d(pool)] if pool else [])

    c = cfg.channels

    class Recogniser(nn.Module):
        """(N, 1, 32, W) -> (N, W/4, classes) logits; class 0 is the CTC blank."""

        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(*block(1, c[0], (2, 2)), *block(c[0], c[1], (2, 2)),
                                     *block(c[1], c[2], None), *block(c[2], c[3], (2, 1)),
                                     *block(c[3], c[4], (2, 1)),
                                     nn.Conv2d(c[4], c[4], (2, 1), bias=False), nn.BatchNorm2d(c[4]),
                                     nn.ReLU(inplace=True))
            self.rnn = nn.LSTM(c[4], cfg.hidden, batch_first=True, bidirectional=True)
            self.head = nn.Linear(2 * cfg.hidden, classes)

        def forward(self, x):
            f = self.cnn(x).squeeze(2).transpose(1, 2)  # (N, W/4, C)
            out, _ = self.rnn(f)
            return self.head(out)

    torch.manual_seed(cfg.seed)
    return Recogniser()


def encode(text: str) -> list[int]:
    return [ALPHABET.index(ch) + 1 for ch in text]


def width_batches(widths: np.ndarray, batch: int, rng: np.random.Generator):
    """Endless batches of similar widths (less padding), in random order."""
    order = np.argsort(widths + rng.uniform(0, 24, len(widths)))
    chunks = [order[i:i + batch] for i in range(0, len(order) - batch + 1, batch)]
    while True:
        for k in rng.permutation(len(chunks)):
            yield chunks[k]


def recognise(model, images: list[np.ndarray], batch: int = 64) -> list[str]:
    import torch
    model.eval()
    texts = []
    order = np.argsort([im.shape[1] for im in images])
    results: dict[int, str] = {}
    device = next(model.parameters()).device
    with torch.no_grad():
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = torch.from_numpy(batch_lines([images[j] for j in idx], REC_SPEC)).to(device)
            logits = model(x).float().cpu().numpy()
            for j, lg in zip(idx, logits):
                results[int(j)] = greedy_decode(softmax(lg), ALPHABET).text
    texts = [results[i] for i in range(len(images))]
    model.train()
    return texts


def evaluate(model, sets: dict) -> dict:
    out = {}
    for name, (images, truths, _) in sets.items():
        preds = recognise(model, images)
        out[name] = {"cer": cer(preds, truths), "line_accuracy": float(np.mean([p == t for p, t in zip(preds, truths)])),
                     "lines": len(truths)}
    return out


def held_out_sets(cfg: Config) -> dict:
    """The four held-out families clean and degraded; with real-looking training, also the second held-out
    group of families (fonts.UNSEEN_FAMILIES) clean, degraded and real-looking."""
    root = Path(cfg.data_dir)
    sets = {"heldout_clean": ensure_lines(root, "heldout-clean", cfg.eval_lines, 7, True, 0.0),
            "heldout_degraded": ensure_lines(root, "heldout-degraded", cfg.eval_lines, 8, True, 1.0)}
    if cfg.real_lines:
        sets |= {"unseen_clean": ensure_lines(root, "unseen-clean", cfg.eval_lines, 17, "unseen", 0.0),
                 "unseen_degraded": ensure_lines(root, "unseen-degraded", cfg.eval_lines, 18, "unseen", 1.0),
                 "unseen_real": ensure_lines(root, "unseen-real", cfg.eval_lines, 19, "unseen", 0.0, True)}
    return sets


def training_lines(cfg: Config):
    """Plain generated lines (60% degraded) plus cfg.real_lines real-looking ones."""
    root = Path(cfg.data_dir)
    images, texts, fonts = ensure_lines(root, "train", cfg.train_lines, 1, False, 0.6)
    if cfg.real_lines:
        more = ensure_lines(root, "train-real", cfg.real_lines, 11, False, 0.0, True)
        images, texts, fonts = images + more[0], texts + more[1], fonts + more[2]
    return images, texts, fonts


def selection_cer(scores: dict, names: list[str]) -> float:
    return float(np.mean([scores[n]["cer"] for n in names]))


def warm_start(model, cfg: Config, images: list[np.ndarray]) -> None:
    if cfg.init.endswith(".pt"):   # a checkpoint keeps its BatchNorms: nothing to re-fit
        import torch
        model.load_state_dict(torch.load(cfg.init, map_location="cpu", weights_only=False)["model"])
        return
    from training.ocr.warm_start import load_from_onnx
    rng = np.random.default_rng(cfg.seed)
    sample = [images[i] for i in rng.choice(len(images), 64 * 8, replace=False)]
    load_from_onnx(model, cfg.init, [batch_lines(sample[i:i + 64], REC_SPEC) for i in range(0, len(sample), 64)])


@TRAINERS.register("ocr-rec", "OCR text-line recogniser (CNN + BiLSTM + CTC) on synthetic printed text")
def train(cfg: Config, run: RunDir) -> dict:
    import torch
    dist = run.dist
    set_seed(cfg.seed, cfg.threads)
    (images, texts, _), sets = dist.main_first(lambda: (training_lines(cfg), held_out_sets(cfg)))
    targets = [torch.tensor(encode(t), dtype=torch.long) for t in texts]
    widths = np.array([im.shape[1] for im in images])
    rng = np.random.default_rng(cfg.seed)  # the global batches' order: the same on every rank
    model = build_model(cfg)
    if cfg.init:
        warm_start(model, cfg, images)
    model = dist.wrap(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    saved = run.load_state(model, opt, sched)
    start, best, losses = saved.get("step", 0), saved.get("best"), saved.get("losses", [])
    batches = width_batches(widths, dist.per_rank(cfg.batch) * dist.world, rng)
    for _ in range(start):  # a resumed run replays the batch order up to where it stopped
        next(batches)
    for step in progress(range(start + 1, cfg.steps + 1), desc="ocr-rec", initial=start, total=cfg.steps):
        idx = dist.part(next(batches))
        with dist.autocast():
            logits = model(dist.tensor(batch_lines([images[i] for i in idx], REC_SPEC)))
        log_probs = logits.float().log_softmax(2).transpose(0, 1)  # (T, N, C); CTC in fp32
        tgt = [targets[i] for i in idx]
        loss = ctc(log_probs, dist.tensor(torch.cat(tgt)),
                   torch.full((len(idx),), log_probs.shape[0], dtype=torch.long), torch.tensor([len(t) for t in tgt]))
        dist.step(loss, opt, model, cfg.clip)
        sched.step()
        losses.append(loss.item())
        if step % cfg.eval_every == 0 or step == cfg.steps:
            scores = dist.on_main(lambda: evaluate(dist.unwrap(model), sets))
            run.log(train_ctc=dist.mean(float(np.mean(losses[-cfg.eval_every:]))), **{
                f"{k}_cer": v["cer"] for k, v in scores.items()})
            if best is None or selection_cer(scores, cfg.select_on) <= selection_cer(best, cfg.select_on):
                best = {**scores, "step": step}
                run.save_checkpoint(model, alphabet=ALPHABET, metrics=best)
            run.save_state(model, opt, sched, step=step, best=best, losses=losses)
    losses = dist.mean(np.array(losses))  # each rank's step losses -> the global batch's
    run.plot_curves()
    return {**best, "first_loss": float(np.mean(losses[:10])), "last_loss": float(np.mean(losses[-10:])),
            "train_lines": len(images)}
