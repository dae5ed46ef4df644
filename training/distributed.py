"""Where a trainer runs: the device, and torchrun's process group when there is one.

Every trainer gets a ``Context`` (``run.dist``) and uses it for the few things that
change between one CPU process and N GPUs: the device, the model wrapped in
DistributedDataParallel, this rank's part of each global batch (``epoch_shard``,
``part``), an optimiser step with autocast and gradient clipping, metrics averaged
across ranks, and work done on rank 0 alone. Rank 0 writes the run folder; the other
ranks get a ``FollowerRun`` that records history but writes nothing.

``batch`` in a trainer's config is the global batch of one optimiser step; each of the
N ranks computes ``batch / N`` of it, so a configuration trains the same model (same
steps, same learning rate) on 1 process or on N.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
# The other ranks wait in a collective while rank 0 evaluates alone (minutes) or builds a dataset cache
# the first time (can be hours for the big synthetic sets). A rank that fails does not leave the others
# waiting this long: torchrun stops the whole group when one process exits with an error.
COLLECTIVE_TIMEOUT = timedelta(hours=6)


def resolve_device(spec: str, local_rank: int = 0, world: int = 1):
    """``--device`` -> torch.device; ``auto`` is CUDA when PyTorch sees a GPU. Never falls back silently."""
    import torch
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if not match:
        raise ConfigError(f"--device {spec!r}: expected {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {spec}: PyTorch sees no CUDA device (this torch is "
                          f"{torch.__version__}; use --device cpu or auto)")
    if match.group(1) is not None and world > 1:
        raise ConfigError(f"--device {spec}: under torchrun each rank uses cuda:LOCAL_RANK; give --device cuda")
    index = int(match.group(1)) if match.group(1) is not None else local_rank
    if index >= torch.cuda.device_count():
        raise ConfigError(f"--device {spec}: cuda:{index} does not exist ({torch.cuda.device_count()} visible)")
    return torch.device("cuda", index)


def setup(device: str = "auto", workers: int = 0, mixed_precision: bool = True) -> "Context":
    """The context of this process: one process, or one rank of a torchrun launch (RANK, WORLD_SIZE,
    LOCAL_RANK in the environment), whose process group is set up here (NCCL on CUDA, gloo on CPU)."""
    import torch
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if workers < 0:
        raise ConfigError(f"--workers {workers}: must be 0 (build batches in the training process) or more")
    resolved = resolve_device(device, local_rank, world)
    if world > 1:
        import torch.distributed as dist
        if resolved.type == "cuda":
            torch.cuda.set_device(resolved)
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT)
    ctx = Context(rank=rank, world=world, local_rank=local_rank, device=resolved, workers=workers,
                  mixed_precision=mixed_precision)
    if ctx.is_main:
        log.info("training on %s%s, %d process(es)%s, %d data worker(s) per process", resolved,
                 " with autocast" if ctx.amp else "", world,
                 f" ({'nccl' if resolved.type == 'cuda' else 'gloo'})" if world > 1 else "", workers)
    return ctx


class Context:
    """This process's rank, device and helpers; a default Context is one CPU process."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0, device: Any = "cpu", workers: int = 0,
                 mixed_precision: bool = True):
        import torch
        self.rank, self.world, self.local_rank, self.workers = rank, world, local_rank, workers
        self.device = torch.device(device)
        self.mixed_precision = mixed_precision
        self._scaler = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def amp(self) -> bool:
        """Mixed precision on CUDA only (unless turned off): CPU autocast (bfloat16) is slower than fp32
        on most CPUs."""
        return self.device.type == "cuda" and self.mixed_precision

    def describe(self) -> dict:
        return {"device": str(self.device), "processes": self.world, "data_workers": self.workers,
                "mixed_precision": self.amp}

    # --- model -----------------------------------------------------------------------------------------
    def wrap(self, model):
        """The model on this device, in DistributedDataParallel when there are several ranks."""
        model = model.to(self.device)
        if not self.distributed:
            return model
        import torch
        from torch.nn.parallel import DistributedDataParallel
        if self.device.type == "cuda":  # batch statistics over the global batch; SyncBatchNorm needs a GPU,
            # so on CPU each rank normalises over its own batch / N samples
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    @staticmethod
    def unwrap(model):
        """The plain module (checkpoints, evaluation on one rank, export): no ``module.`` prefix."""
        from torch.nn.parallel import DistributedDataParallel
        return model.module if isinstance(model, DistributedDataParallel) else model

    def tensor(self, array):
        import torch
        value = torch.as_tensor(array)
        return value.to(self.device, non_blocking=True) if self.device.type != "cpu" else value

    def autocast(self):
        import torch
        if not self.amp:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def step(self, loss, opt, model, clip: float | None = None) -> None:
        """zero_grad, backward (DDP averages the gradients of all ranks), clip, optimiser step.
        float16 autocast gets a GradScaler; bfloat16 and fp32 need none."""
        import torch
        if self._scaler is None:
            fp16 = self.amp and not torch.cuda.is_bf16_supported()
            self._scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        opt.zero_grad()
        self._scaler.scale(loss).backward()
        if clip:
            self._scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        self._scaler.step(opt)
        self._scaler.update()

    # --- data ------------------------------------------------------------------------------------------
    def per_rank(self, batch: int) -> int:
        """This rank's share of a global batch."""
        if batch % self.world:
            raise ConfigError(f"batch {batch} is the global batch and must divide evenly among {self.world} "
                              f"processes")
        return batch // self.world

    def part(self, items):
        """This rank's part of one global batch (every rank drew the same global batch)."""
        return items[self.rank::self.world]

    def epoch_shard(self, n: int, epoch: int, seed: int) -> np.ndarray:
        """This rank's disjoint share of a shuffled epoch of ``n`` samples (DistributedSampler with
        set_epoch: the same order on every rank for a seed and epoch; drop_last keeps shares disjoint
        and equally long, dropping at most world-1 samples an epoch, different ones each epoch)."""
        from torch.utils.data import DistributedSampler
        sampler = DistributedSampler(range(n), num_replicas=self.world, rank=self.rank, shuffle=True, seed=seed,
                                     drop_last=True)
        sampler.set_epoch(epoch)
        return np.fromiter(iter(sampler), dtype=np.int64)

    def rng(self, seed: int, *keys: int) -> np.random.Generator:
        """A generator for this rank's augmentation, fixed by (seed, rank, keys): reproducible, and
        different on every rank so that ranks do not apply the same random transforms."""
        return np.random.default_rng([seed, self.rank, *keys])

    def batches(self, plan: list, make: Callable, seed: int, *keys: int, start: int = 0):
        """Yield ``make(plan[k], rng)`` for k >= start, built in ``workers`` DataLoader processes.
        Each batch's rng depends only on (seed, rank, keys, k), so the data does not depend on the number
        of workers; the workers' global numpy/random seeds are derived from torch's per-worker seed."""
        from torch.utils.data import DataLoader
        dataset = _PlannedBatches(plan, make, [seed, self.rank, *keys], start)
        if not self.workers:
            return (dataset[k] for k in range(len(dataset)))
        return iter(DataLoader(dataset, batch_size=None, shuffle=False, num_workers=self.workers,
                               worker_init_fn=_seed_worker, pin_memory=self.device.type == "cuda"))

    # --- collectives -----------------------------------------------------------------------------------
    def mean(self, value):
        """The average over ranks of a number or array (every rank must call it)."""
        if not self.distributed:
            return value
        import torch
        import torch.distributed as dist
        array = np.asarray(value, dtype=np.float64)
        buf = torch.from_numpy(array.copy()).to(self.device)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        out = buf.cpu().numpy() / self.world
        return float(out) if array.ndim == 0 else out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's value of ``obj`` on every rank."""
        if not self.distributed:
            return obj
        import torch.distributed as dist
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def main_first(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on rank 0, then on the others: rank 0 builds and caches a dataset alone, the others
        load the cache instead of writing the same files at the same time."""
        if self.is_main:
            result = fn()
        if self.distributed:
            import torch.distributed as dist
            dist.barrier()
        if not self.is_main:
            result = fn()
        return result

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on rank 0 only (evaluation of the unwrapped model) and give every rank its result."""
        return self.broadcast(fn() if self.is_main else None)

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist
            if dist.is_initialized():
                # A DDP model left for the garbage collector holds the process group; freed at interpreter
                # exit, after the group was destroyed and torchrun's store closed, its threads ended the
                # rank with "terminate called without an active exception" (1 run in 12 here). So the
                # models are freed first, and every rank arrives before any tears down.
                gc.collect()
                dist.barrier()
                dist.destroy_process_group()


class _PlannedBatches:
    """Map-style dataset of whole batches: item k is ``make(plan[start + k], rng(*key, start + k))``."""

    def __init__(self, plan: list, make: Callable, key: list[int], start: int):
        self.plan, self.make, self.key, self.start = plan, make, key, start

    def __len__(self) -> int:
        return max(0, len(self.plan) - self.start)

    def __getitem__(self, k: int):
        k += self.start
        return self.make(self.plan[k], np.random.default_rng([*self.key, k]))


def _seed_worker(worker_id: int) -> None:
    """The documented PyTorch recipe: seed numpy and random in each worker from torch's worker seed."""
    import random

    import torch
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def open_run(root: str | Path, name: str, config: Any, ctx: Context, resume: str | None = None):
    """Rank 0 creates (or, with ``resume``, reopens) the run folder and broadcasts its path; the other
    ranks get a FollowerRun on the same path that writes nothing."""
    from training.common import FollowerRun, RunDir
    error, path = None, None
    if ctx.is_main:
        try:
            run = RunDir.reopen(resume, name) if resume else RunDir(root, name, config)
            path = str(run.path)
        except ConfigError as exc:
            error = str(exc)
        except OSError as exc:  # before any training: a run that cannot save its checkpoints is not started
            error = f"--out {root}: cannot make the run folder ({exc.strerror or exc})"
    error, path = ctx.broadcast((error, path))  # every rank learns of it: none waits forever
    if error:
        raise ConfigError(error)
    if not ctx.is_main:
        run = FollowerRun(path, config, resumed=bool(resume))
    run.dist = ctx
    return run
