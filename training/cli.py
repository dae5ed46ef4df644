"""`perceive train NAME`: registered through the perceive.commands entry point.

Torch is imported only when a trainer runs, so `perceive --help` works without it.
A trainer module exposes ``Config`` (a documented dataclass) and
``train(config, run: RunDir) -> dict`` (its metrics).
"""
from __future__ import annotations

import importlib
import json

# name -> (module, one-line description)
TRAINERS: dict[str, tuple[str, str]] = {
    "har": ("training.sensor.har", "activity recognition (conv + LSTM) on BasicMotions IMU data"),
    "anomaly": ("training.sensor.anomaly", "LSTM forecaster and anomaly scorer on a real labelled sensor series"),
    "ocr-rec": ("training.ocr.rec", "OCR text-line recogniser (CNN + BiLSTM + CTC) on synthetic printed text"),
    "ocr-det": ("training.ocr.det", "OCR text detector (small FPN CNN, DB-style line cores) on synthetic scenes"),
    "kws": ("training.kws.train", "streaming LSTM keyword spotter on synthesised speech (espeak-ng, flite)"),
}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (needs perceive[train])",
                       description="Train one of the model families. Each run writes runs/NAME-TIME/ with "
                                   "config.json (the resolved config), checkpoints, metrics.json and plots.")
    tsub = p.add_subparsers(dest="trainer", metavar="MODEL")
    for name, (module, help_text) in TRAINERS.items():
        t = tsub.add_parser(name, help=help_text, description=help_text)
        t.add_argument("--config", help="TOML file with trainer settings")
        t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
        t.add_argument("--out", default="runs", help="folder for run directories (default: runs)")
        t.add_argument("--show-config", action="store_true", help="print every setting with its meaning")
        t.set_defaults(func=_runner(name, module))
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _runner(name: str, module_name: str):
    def run(args) -> int:
        from pipeline.config.loader import describe
        from pipeline.errors import PerceiveError
        from training.common import RunDir, load_train_config
        module = importlib.import_module(module_name)
        if args.show_config:
            for key, tp, default, doc in describe(module.Config):
                print(f"{key:28s} {tp:14s} {default:16s} {doc}")
            return 0
        config = load_train_config(module.Config, args.config, args.set)
        try:
            run_dir = RunDir(args.out, name, config)
        except OSError as exc:  # before any training: a run that cannot save its checkpoints is not started
            raise PerceiveError(f"--out {args.out}: cannot make the run folder ({exc.strerror or exc})") from None
        metrics = module.train(config, run_dir)
        run_dir.write_json("metrics.json", metrics)
        print(json.dumps({"run": str(run_dir.path), **metrics}, indent=2, default=float))
        return 0
    return run
