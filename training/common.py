"""What every trainer shares: seeding, run folders, checkpoints with their config, plots."""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline.config.loader import build, to_dict
from pipeline.config.tree import apply_override, read_toml
from pipeline.errors import ConfigError, InputError

STATE_FILE = "state.pt"  # the resume state, saved as training goes (checkpoint.pt is the model to export)


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
    """A progress bar; hidden with PERCEIVE_NO_PROGRESS=1 and on every torchrun rank but 0."""
    from tqdm import tqdm
    quiet = os.environ.get("PERCEIVE_NO_PROGRESS", "") not in ("", "0") or os.environ.get("RANK", "0") != "0"
    return tqdm(iterable, dynamic_ncols=True, mininterval=1.0, disable=quiet, **kwargs)


class RunDir:
    """runs/<name>-<time>/ holding config.json, checkpoints, metrics.json, plots and the resume state.

    ``dist`` is where the trainer runs (training/distributed.py); in a torchrun launch only rank 0
    holds a RunDir, the other ranks a FollowerRun that writes nothing.
    """

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
        self.resumed = False
        self.dist = _single_process()

    @classmethod
    def reopen(cls, path: str | Path, name: str) -> "RunDir":
        """An existing run folder of trainer ``name``, to continue from its STATE_FILE."""
        run = cls.__new__(cls)
        run.path = Path(path)
        if not run.path.name.startswith(f"{name}-") or not (run.path / "config.json").is_file():
            raise ConfigError(f"--resume {path}: not a run folder of `perceive train {name}` "
                              f"(expected {name}-TIME/ with config.json)")
        run.config = json.loads((run.path / "config.json").read_text())
        run.history, run.resumed, run.dist = {}, True, _single_process()
        return run

    def write_json(self, name: str, data: Any) -> Path:
        path = self.path / name
        path.write_text(json.dumps(data, indent=2, default=float))
        return path

    def log(self, **values: float) -> None:
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def save_checkpoint(self, model, name: str = "checkpoint.pt", **extra: Any) -> Path:
        """Weights (of the unwrapped module: no DDP ``module.`` prefix) plus the resolved config and
        anything else needed to rebuild the model."""
        state = self.dist.unwrap(model).state_dict()
        return self._save({"model": state, "config": self.config, "history": self.history, **extra}, name)

    def save_state(self, model, opt, sched=None, **progress: Any) -> Path:
        """What --resume needs: weights, optimiser and scheduler state, history and the trainer's
        progress (epoch or step, best score, ...)."""
        return self._save({"model": self.dist.unwrap(model).state_dict(), "optimizer": opt.state_dict(),
                           "scheduler": sched.state_dict() if sched is not None else None,
                           "history": self.history, "progress": progress}, STATE_FILE)

    def load_state(self, model, opt, sched=None) -> dict:
        """On a resumed run, restore model, optimiser, scheduler and history (on every rank) and return
        the saved progress; on a fresh run, an empty dict."""
        if not self.resumed:
            return {}
        import torch
        path = self.path / STATE_FILE
        if not path.is_file():
            raise ConfigError(f"--resume {self.path}: no {STATE_FILE} (the run stopped before its first save)")
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.dist.unwrap(model).load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])  # moves the moments to the parameters' device
        if sched is not None and state["scheduler"] is not None:
            sched.load_state_dict(state["scheduler"])
        self.history = state["history"]
        return state["progress"]

    def _save(self, payload: dict, name: str) -> Path:
        import torch
        path = self.path / name
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    def save_figure(self, fig, name: str) -> Path:
        path = self.path / name
        fig.savefig(path, dpi=90)
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
        path = self.save_figure(fig, name)
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
        path = self.save_figure(fig, name)
        plt.close(fig)
        return path


class FollowerRun(RunDir):
    """The run as a rank other than 0 sees it: same path, config and history; writes nothing."""

    def __init__(self, path: str | Path, config: Any, resumed: bool = False):
        self.path = Path(path)
        self.config = config if isinstance(config, dict) else to_dict(config)
        self.history, self.resumed, self.dist = {}, resumed, _single_process()

    def write_json(self, name: str, data: Any) -> Path:
        return self.path / name

    def _save(self, payload: dict, name: str) -> Path:
        return self.path / name

    def save_figure(self, fig, name: str) -> Path:
        return self.path / name

    def plot_curves(self, name: str = "curves.png") -> Path:
        return self.path / name

    def plot_confusion(self, matrix: np.ndarray, labels: list[str], name: str = "confusion.png") -> Path:
        return self.path / name


def _single_process():
    from training.distributed import Context
    return Context()


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(true), np.asarray(pred)), 1)
    return m


def load_checkpoint(path: str | None, module, name: str, make_model: Callable | None = None):
    """(config, model in eval mode, checkpoint dict) from a `perceive train NAME` checkpoint.

    ``module`` is the trainer module (its ``Config`` and ``build_model``); ``make_model(cfg, ckpt)``
    builds the network when it needs more than the config (e.g. the label count stored beside it).
    """
    import torch
    if not path:
        raise InputError(f"perceive export {name} needs --checkpoint runs/{name}-*/checkpoint.pt")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    cfg = build(module.Config, ckpt["config"])
    model = make_model(cfg, ckpt) if make_model is not None else module.build_model(cfg)
    model.load_state_dict(ckpt["model"])
    return cfg, model.eval(), ckpt
