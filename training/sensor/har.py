"""`perceive train har`: activity recognition on BasicMotions with a conv front-end + LSTM.

Trained on the standard train split only; hyper-parameters are checked by k-fold
cross-validation on that split (``cv_folds``); the test split is scored once at the end.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np

from pipeline.config.loader import option
from pipeline.contract import SensorSpec
from pipeline.skills.sensor.preprocess import normalize_window
from training.common import RunDir, confusion_matrix, progress, set_seed
from training.distributed import Context
from training.registry import TRAINERS
from training.sensor.data import HAR_CHANNELS, HAR_RATE_HZ, load_basic_motions


@dataclass(kw_only=True)
class Config:
    seed: int = option(0, "Random seed (data order, augmentation, weights).")
    epochs: int = option(150, "Passes over the training split.")
    batch: int = option(8, "Windows per step.")
    lr: float = option(3e-3, "AdamW learning rate.")
    hidden: int = option(48, "LSTM hidden size.")
    conv: int = option(32, "Conv front-end channels.")
    window: int = option(100, "Samples per window at inference (the contract's window).")
    hop: int = option(10, "Samples between windows in streaming use.")
    min_crop: int = option(60, "Shortest random crop used in training (the model sees varied lengths).")
    jitter: float = option(0.05, "Augmentation: Gaussian noise std, in standardised units.")
    scale: float = option(0.1, "Augmentation: per-channel gain std.")
    rotate_deg: float = option(15.0, "Augmentation: max rotation of the accelerometer and gyro axes.")
    time_warp: float = option(0.15, "Augmentation: max relative speed change.")
    clip: float = option(1.0, "Gradient-norm clip (LSTMs diverge without it).")
    cv_folds: int = option(0, "If > 1, also report k-fold cross-validation accuracy on the train split.")
    limit_train: int = option(0, "Use only this many training recordings (smoke tests); 0 = all.")


def build_model(cfg: Config, channels: int, classes: int):
    import torch
    from torch import nn

    class HarNet(nn.Module):
        """(B, T, C) standardised samples -> (B, classes) logits."""

        def __init__(self):
            super().__init__()
            self.front = nn.Sequential(
                nn.Conv1d(channels, cfg.conv, 5, padding=2), nn.ReLU(),
                nn.Conv1d(cfg.conv, cfg.conv, 5, padding=2), nn.ReLU())
            self.lstm = nn.LSTM(cfg.conv, cfg.hidden, batch_first=True)
            self.head = nn.Linear(cfg.hidden, classes)

        def forward(self, x):
            y = self.front(x.transpose(1, 2)).transpose(1, 2)
            out, _ = self.lstm(y)
            return self.head(out[:, -1])

    torch.manual_seed(cfg.seed)
    return HarNet()


def _rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    angles = np.deg2rad(rng.uniform(-max_deg, max_deg, 3))
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def augment(raw: np.ndarray, length: int, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """One raw (T, 6) recording -> a random ``length``-sample crop, warped, rotated, scaled (raw units)."""
    speed = 1.0 + rng.uniform(-cfg.time_warp, cfg.time_warp)
    span = min(len(raw) - 1, int(length * speed))
    start = int(rng.integers(0, len(raw) - span))
    src = np.linspace(start, start + span, length)
    x = np.stack([np.interp(src, np.arange(len(raw)), raw[:, c]) for c in range(raw.shape[1])], axis=1)
    rot = _rotation(rng, cfg.rotate_deg)
    x[:, 0:3] = x[:, 0:3] @ rot.T  # the same rotation for both sensors: the watch turned on the wrist
    x[:, 3:6] = x[:, 3:6] @ rot.T
    return (x * rng.normal(1.0, cfg.scale, x.shape[1])).astype(np.float32)


def spec_for(train_x: np.ndarray, cfg: Config) -> SensorSpec:
    return SensorSpec(channels=HAR_CHANNELS, sample_rate_hz=HAR_RATE_HZ, window=cfg.window, hop=cfg.hop,
                      mean=[float(v) for v in train_x.reshape(-1, train_x.shape[2]).mean(0)],
                      std=[float(v) for v in train_x.reshape(-1, train_x.shape[2]).std(0)])


def fit(cfg: Config, x: np.ndarray, y: np.ndarray, classes: int, spec: SensorSpec, dist: Context,
        run: RunDir | None = None, desc: str = "har"):
    """Train on (x, y); each rank takes its shard of every epoch. Returns the unwrapped model."""
    import torch
    model = dist.wrap(build_model(cfg, x.shape[2], classes))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    start = run.load_state(model, opt, sched).get("epoch", 0) if run is not None else 0
    loss_fn = torch.nn.CrossEntropyLoss()
    rank_batch = dist.per_rank(cfg.batch)
    make = partial(make_batch, cfg, x, y, spec)

    for epoch in progress(range(start, cfg.epochs), desc=desc, initial=start, total=cfg.epochs):
        began = time.perf_counter()
        model.train()
        shard = dist.epoch_shard(len(x), epoch, cfg.seed)
        plan = [shard[i:i + rank_batch] for i in range(0, len(shard), rank_batch)]
        losses = []
        for batch, labels in dist.batches(plan, make, cfg.seed, epoch):
            with dist.autocast():
                loss = loss_fn(model(dist.tensor(batch)), dist.tensor(labels))
            dist.step(loss, opt, model, cfg.clip)
            losses.append(loss.item())
        sched.step()
        if run is not None:
            run.log(train_loss=dist.mean(float(np.mean(losses))), epoch_seconds=time.perf_counter() - began)
            run.save_state(model, opt, sched, epoch=epoch + 1)
    return dist.unwrap(model)


def make_batch(cfg: Config, x: np.ndarray, y: np.ndarray, spec: SensorSpec, idx: np.ndarray,
               rng: np.random.Generator):
    """Augmented, standardised windows of recordings ``idx``, one random length per batch."""
    length = int(rng.integers(cfg.min_crop, x.shape[1] + 1))
    return np.concatenate([normalize_window(augment(x[j], length, cfg, rng), spec) for j in idx]), y[idx]


def predict(model, x: np.ndarray, spec: SensorSpec) -> np.ndarray:
    import torch
    model.eval()
    with torch.no_grad():
        batch = np.concatenate([normalize_window(w, spec) for w in x])
        device = next(model.parameters()).device
        return model(torch.from_numpy(batch).to(device)).float().cpu().numpy()


def cross_validate(cfg: Config, x: np.ndarray, y: np.ndarray, classes: int, dist: Context) -> float:
    rng = np.random.default_rng(cfg.seed + 1)
    folds = np.array_split(rng.permutation(len(x)), cfg.cv_folds)
    correct = 0
    for k, held in enumerate(folds):
        train = np.setdiff1d(np.arange(len(x)), held)
        spec = spec_for(x[train], cfg)
        model = fit(cfg, x[train], y[train], classes, spec, dist, desc=f"cv fold {k + 1}/{cfg.cv_folds}")
        correct += int((predict(model, x[held], spec).argmax(1) == y[held]).sum())
    return correct / len(x)


@TRAINERS.register("har", "activity recognition (conv + LSTM) on BasicMotions IMU data")
def train(cfg: Config, run: RunDir) -> dict:
    set_seed(cfg.seed)
    train_x, train_y, labels = load_basic_motions("train")
    test_x, test_y, _ = load_basic_motions("test")
    if cfg.limit_train:
        train_x, train_y = train_x[: cfg.limit_train], train_y[: cfg.limit_train]
    metrics: dict = {}
    if cfg.cv_folds > 1:
        metrics["cv_accuracy"] = cross_validate(cfg, train_x, train_y, len(labels), run.dist)
    spec = spec_for(train_x, cfg)
    model = fit(cfg, train_x, train_y, len(labels), spec, run.dist, run)
    pred = predict(model, test_x[:, -cfg.window:], spec).argmax(1)
    matrix = confusion_matrix(test_y, pred, len(labels))
    per_class = {lab: {"recall": float(matrix[i, i] / max(1, matrix[i].sum())),
                       "precision": float(matrix[i, i] / max(1, matrix[:, i].sum()))}
                 for i, lab in enumerate(labels)}
    metrics.update(test_accuracy=float((pred == test_y).mean()), test_windows=int(len(test_y)),
                   per_class=per_class, confusion=matrix.tolist(), labels=labels,
                   first_loss=run.history["train_loss"][0], last_loss=run.history["train_loss"][-1],
                   seconds_per_epoch=float(np.median(run.history["epoch_seconds"])))
    run.plot_curves()
    run.plot_confusion(matrix, labels)
    run.save_checkpoint(model, labels=labels, sensor=spec.__dict__, metrics=metrics)
    return metrics
