"""`perceive train NAME`: registered through the perceive.commands entry point.

Torch is imported only when a trainer runs, so `perceive --help` works without it.
A trainer module exposes ``Config`` (a documented dataclass) and
``train(config, run: RunDir) -> dict`` (its metrics), declared on that function with
``@TRAINERS.register(name, help)`` (training/registry.py: no table to keep); ``run.dist`` says where
it runs (training/distributed.py). The same command runs under torchrun: ``torchrun
--nproc-per-node N -m training NAME ...`` (training/__main__.py).
"""
from __future__ import annotations

import json

from training.registry import TRAINERS, Entry

DESCRIPTION = ("Train one of the model families. Each run writes runs/NAME-TIME/ with config.json (the resolved "
               "config), checkpoints, metrics.json and plots. Several processes: torchrun --nproc-per-node N "
               "-m training NAME ... (rank 0 writes the run folder; batch stays the global batch).")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (needs perceive[train])", description=DESCRIPTION)
    add_trainers(p)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def add_trainers(parser) -> None:
    tsub = parser.add_subparsers(dest="trainer", metavar="MODEL")
    for name, entry in TRAINERS.entries().items():
        t = tsub.add_parser(name, help=entry.help, description=entry.help)
        t.add_argument("--config", help="TOML file with trainer settings")
        t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
        t.add_argument("--out", default="runs", help="folder for run directories (default: runs)")
        t.add_argument("--device", default="auto",
                       help="auto (CUDA when PyTorch sees a GPU, else CPU), cpu, cuda or cuda:N (default: auto)")
        t.add_argument("--no-amp", dest="amp", action="store_false",
                       help="train in fp32 on CUDA too (default: torch.autocast mixed precision on CUDA; "
                            "never on CPU)")
        t.add_argument("--workers", type=int, default=0,
                       help="DataLoader processes building batches, per training process (default: 0)")
        t.add_argument("--resume", metavar="RUN",
                       help="continue runs/NAME-TIME/ from its last saved state (epoch or step, optimiser, "
                            "scheduler), with its own config")
        t.add_argument("--show-config", action="store_true", help="print every setting with its meaning")
        t.set_defaults(func=_runner(entry))


def _runner(entry: Entry):
    def run(args) -> int:
        import importlib

        from pipeline.config.loader import describe
        module = importlib.import_module(entry.module)  # torch and the trainer load here, not before
        if args.show_config:
            for key, tp, default, doc in describe(module.Config):
                print(f"{key:28s} {tp:14s} {default:16s} {doc}")
            return 0
        from training.distributed import open_run, setup
        config = _config(module, args)
        ctx = setup(args.device, args.workers, args.amp)
        try:
            run_dir = open_run(args.out, entry.name, config, ctx, resume=args.resume)
            metrics = {**getattr(module, entry.function)(config, run_dir), **ctx.describe()}
            run_dir.write_json("metrics.json", metrics)
            if ctx.is_main:
                print(json.dumps({"run": str(run_dir.path), **metrics}, indent=2, default=float))
        finally:
            ctx.close()
        return 0
    return run


def _config(module, args):
    from pathlib import Path

    from pipeline.config.loader import build
    from pipeline.errors import ConfigError
    from training.common import load_train_config
    if not args.resume:
        return load_train_config(module.Config, args.config, args.set)
    if args.config or args.set:
        raise ConfigError("--resume continues a run with its own config.json; drop --config and --set")
    path = Path(args.resume) / "config.json"
    if not path.is_file():
        raise ConfigError(f"--resume {args.resume}: no config.json there (give the run folder runs/NAME-TIME)")
    return build(module.Config, json.loads(path.read_text()))
