"""What every trainer shares: seeding, run folders, checkpoints with their config, plots."""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config.loader import build, to_dict
from pipeline.config.tree import apply_override, read_toml


def load_train_config(cls: type, path: str | None, overrides: list[str]) -> Any:
    """A trainer's typed config from an optional TOML file plus --set overrides."""
    data = read_toml(path) if path else {}
    for assignment in overrides:
        apply_override(data, assignment)
    return build(cls, data)


def set_seed(seed: int, threads: int = 1) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # One thread by default: PyTorch at 2 threads next to another busy process stalls on this CPU.
    torch.set_num_threads(threads)


def progress(iterable=None, **kwargs):
    from tqdm import tqdm
    quiet = os.environ.get("PERCEIVE_NO_PROGRESS", "") not in ("", "0")
    return tqdm(iterable, dynamic_ncols=True, mininterval=1.0, disable=quiet, **kwargs)


class RunDir:
    """runs/<name>-<time>/ holding config.json, checkpoints, metrics.json and plots."""

    def __init__(self, root: str | Path, name: str, config: Any):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = Path(root) / f"{name}-{stamp}"
        suffix = 1
        while self.path.exists():
            self.path = Path(root) / f"{name}-{stamp}-{suffix}"
            suffix += 1
        self.path.mkdir(parents=True)
        self.config = to_dict(config)
        self.write_json("config.json", self.config)
        self.history: dict[str, list[float]] = {}

    def write_json(self, name: str, data: Any) -> Path:
        path = self.path / name
        path.write_text(json.dumps(data, indent=2, default=float))
        return path

    def log(self, **values: float) -> None:
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def save_checkpoint(self, model, name: str = "checkpoint.pt", **extra: Any) -> Path:
        """Weights plus the resolved config and anything else needed to rebuild the model."""
        import torch
        path = self.path / name
        tmp = path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "config": self.config, "history": self.history, **extra}, tmp)
        os.replace(tmp, path)
        return path

    def plot_curves(self, name: str = "curves.png") -> Path:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        keys = list(self.history)
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.4 * max(1, len(keys))), squeeze=False)
        for ax, key in zip(axes[:, 0], keys):
            ax.plot(self.history[key])
            ax.set_ylabel(key)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("epoch / evaluation")
        fig.tight_layout()
        path = self.path / name
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path

    def plot_confusion(self, matrix: np.ndarray, labels: list[str], name: str = "confusion.png") -> Path:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        n = len(labels)
        fig, ax = plt.subplots(figsize=(1 + 0.5 * n, 1 + 0.5 * n))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(n), labels, rotation=90)
        ax.set_yticks(range(n), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7)
        fig.tight_layout()
        path = self.path / name
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(true), np.asarray(pred)), 1)
    return m
