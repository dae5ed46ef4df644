"""`perceive export NAME`: registered through the perceive.commands entry point.

An exporter module exposes ``export(checkpoint: str | None, out_dir: Path) -> dict``
(the figures it measured) and writes NAME.onnx, its fp32 twin and NAME.md.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

from pipeline.runtime.stage import SHIPPED_MODELS

# name -> (module, one-line description)
EXPORTERS: dict[str, tuple[str, str]] = {}


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained model to int8 ONNX (needs perceive[train])",
                       description="Export a checkpoint to ONNX with its contract, check parity with "
                                   "PyTorch, quantize to int8, and measure fp32 vs int8 accuracy and "
                                   "latency into a model card.")
    esub = p.add_subparsers(dest="exporter", metavar="MODEL")
    for name, (module, help_text) in EXPORTERS.items():
        e = esub.add_parser(name, help=help_text, description=help_text)
        e.add_argument("--checkpoint", help="checkpoint.pt from `perceive train` (if the model needs one)")
        e.add_argument("--out", default=str(SHIPPED_MODELS), help=f"output folder (default: {SHIPPED_MODELS})")
        e.set_defaults(func=_runner(module))
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _runner(module_name: str):
    def run(args) -> int:
        module = importlib.import_module(module_name)
        summary = module.export(args.checkpoint, Path(args.out))
        print(json.dumps(summary, indent=2, default=float))
        return 0
    return run
