"""`perceive export NAME`: registered through the perceive.commands entry point.

An exporter is a function ``export(checkpoint: str | None, out_dir: Path) -> dict``
(returning the figures it measured) that writes NAME.onnx, its fp32 twin and NAME.md, declared on
that function with ``@EXPORTERS.register(name, help)`` (export/registry.py: no table to keep).
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from export.registry import EXPORTERS
from pipeline.errors import InputError
from pipeline.runtime.stage import SHIPPED_MODELS
from training.registry import Entry


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained model to int8 ONNX (needs perceive[train])",
                       description="Export a checkpoint to ONNX with its contract, check parity with "
                                   "PyTorch, quantize to int8, and measure fp32 vs int8 accuracy and "
                                   "latency into a model card.")
    esub = p.add_subparsers(dest="exporter", metavar="MODEL")
    for name, entry in EXPORTERS.entries().items():
        e = esub.add_parser(name, help=entry.help, description=entry.help)
        e.add_argument("--checkpoint", help="checkpoint.pt from `perceive train` (if the model needs one)")
        e.add_argument("--out", default=str(SHIPPED_MODELS), help=f"output folder (default: {SHIPPED_MODELS})")
        e.set_defaults(func=_runner(entry))
    p.set_defaults(func=lambda args: p.print_help() or 2)


def check_checkpoint(path: str | None) -> None:
    """A file written by torch.save (a zip archive holding data.pkl), before torch loads and runs anything."""
    if path is None:
        return
    checkpoint = Path(path)
    if not checkpoint.is_file():
        raise InputError(f"--checkpoint {path}: " + ("not a file" if checkpoint.exists() else "file not found"))
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            pickled = any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        pickled = False
    if not pickled:
        raise InputError(f"--checkpoint {path}: not a PyTorch checkpoint (torch.save's zip format); "
                         "use the checkpoint.pt of a `perceive train` run")


def _runner(entry: Entry):
    def run(args) -> int:
        check_checkpoint(args.checkpoint)
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {out}: cannot make the output folder ({exc.strerror or exc})") from None
        summary = entry.load()(args.checkpoint, out)  # torch and the exporter load here, not before
        print(json.dumps(summary, indent=2, default=float))
        return 0
    return run
