"""The v8 keyword model: a small head over the last ``CONTEXT`` speech embeddings (1.9 s of audio).

The frozen front end (Google's speech_embedding, pipeline/skills/kws/frontend.py) turns audio into one
96-value embedding every 80 ms; the head is a window model (openWakeWord-style): a per-step
projection, a convolution over the last ``CONTEXT`` steps and two 1x1 layers, giving the label
posteriors of every step. Its streaming state is the ring of the previous ``CONTEXT - 1``
embeddings (zeros at the start of a stream, as in training), so the runtime's carried state is
exact whatever the block size.

    python -m training.kws.emb_head --data /work/data/kws_emb/train-1.npz /work/data/kws_emb/train-2.npz \\
        --out runs/kws-emb/checkpoint.pt
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.kws.data import IGNORE

CONTEXT = 16            # embeddings the head sees (16 x 80 ms, plus the 0.775 s under the first)
EMBED_DIM = 96
PROJECT, HIDDEN = 64, 128
DROPOUT = 0.3
KEYWORD_WEIGHT = 4.0    # keyword steps are ~2% of all steps
VALID_SHARE = 0.05      # sequences kept aside to watch for over-fitting (same voices: not a held-out figure)


class Head(nn.Module):
    def __init__(self, n_classes: int, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(1.0 / std, dtype=torch.float32))
        self.project = nn.Linear(EMBED_DIM, PROJECT)
        self.window = nn.Conv1d(PROJECT, HIDDEN, CONTEXT)
        self.hidden = nn.Conv1d(HIDDEN, HIDDEN, 1)
        self.out = nn.Conv1d(HIDDEN, n_classes, 1)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, features, ring):
        """features (B, T, 96), ring (B, CONTEXT - 1, 96) -> logits (B, T, classes), new ring."""
        x = torch.cat([ring, features], dim=1)
        h = torch.relu(self.project((x - self.mean) * self.scale)).transpose(1, 2)
        h = self.drop(torch.relu(self.window(h)))
        h = self.drop(torch.relu(self.hidden(h)))
        return self.out(h).transpose(1, 2), x[:, -(CONTEXT - 1):]


def zero_ring(batch: int) -> torch.Tensor:
    return torch.zeros(batch, CONTEXT - 1, EMBED_DIM)


def load(paths: list[str]):
    xs, ys, names = [], [], None
    for p in paths:
        with np.load(p) as d:
            xs.append(d["x"])
            ys.append(d["y"].astype(np.int64))
            names = list(d["names"])
    return np.concatenate(xs), np.concatenate(ys), names


def train(paths: list[str], out: Path, epochs: int, lr: float, batch: int, seed: int,
          keyword_weight: float = KEYWORD_WEIGHT) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x, y, names = load(paths)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_valid = int(len(x) * VALID_SHARE)
    valid, fit = order[:n_valid], order[n_valid:]
    flat = x[fit].reshape(-1, EMBED_DIM).astype(np.float32)
    model = Head(len(names), flat.mean(0), flat.std(0) + 1e-3)
    weight = torch.ones(len(names))
    weight[:len(names) - 2] = keyword_weight
    loss_fn = nn.CrossEntropyLoss(weight=weight, ignore_index=IGNORE)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * (len(fit) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    history = []
    for epoch in range(epochs):
        model.train()
        start, losses = time.time(), []
        for i in range(0, len(fit) - batch + 1, batch):
            idx = fit[i:i + batch]
            xb, yb = torch.tensor(x[idx], dtype=torch.float32), torch.tensor(y[idx])
            logits, _ = model(xb, zero_ring(len(idx)))
            loss = loss_fn(logits.reshape(-1, len(names)), yb.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        fit = fit[rng.permutation(len(fit))]
        scores = evaluate(model, x[valid], y[valid], names)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), **scores})
        print(json.dumps({**history[-1], "s": round(time.time() - start)}), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "labels": names, "mean": model.mean.numpy(),
                "std": 1.0 / model.scale.numpy(), "history": history, "data": paths}, out)
    return history[-1]


@torch.no_grad()
def evaluate(model: Head, x: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    """Step accuracy on keyword steps and on the others (a training-time gauge only)."""
    model.eval()
    logits, _ = model(torch.tensor(x, dtype=torch.float32), zero_ring(len(x)))
    pred = logits.argmax(-1).numpy()
    keyword = (y >= 0) & (y < len(names) - 2)
    other = y >= len(names) - 2
    return {"keyword_step_accuracy": float((pred[keyword] == y[keyword]).mean()),
            "other_step_false_keyword": float((pred[other] < len(names) - 2).mean())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keyword-weight", type=float, default=KEYWORD_WEIGHT, help="loss weight of keyword steps")
    args = ap.parse_args(argv)
    train(args.data, Path(args.out), args.epochs, args.lr, args.batch, args.seed, args.keyword_weight)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
