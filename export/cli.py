"""`perceive export NAME`: registered through the perceive.commands entry point.

An exporter is a function ``export(checkpoint: str | None, out_dir: Path) -> dict``
(returning the figures it measured) that writes NAME.onnx, its fp32 twin and NAME.md;
``EXPORTERS`` names it as "module:function".
"""
from __future__ import annotations

import importlib
import json
import zipfile
from pathlib import Path

from pipeline.errors import InputError
from pipeline.runtime.stage import SHIPPED_MODELS

# name -> ("module:function", one-line description)
EXPORTERS: dict[str, tuple[str, str]] = {
    "har": ("export.sensor:export_har", "activity model: ONNX + int8, accuracy on the BasicMotions test split"),
    "anomaly": ("export.sensor:export_anomaly", "streaming anomaly forecaster: ONNX + int8, F1 vs z-score"),
    "face": ("export.face:export", "face models from the published MTCNN (MIT) and dlib (CC0) weights, no training"),
    "liveness": ("export.liveness:export", "passive anti-spoofing (MiniFASNet V2 + V1SE, Apache-2.0): ONNX, parity, int8 if it keeps accuracy"),
    "ocr-det": ("export.ocr:export_det", "OCR detector: ONNX (dynamic size) + static int8, P/R on held-out scenes"),
    "ocr-rec": ("export.ocr:export_rec", "OCR recogniser: ONNX (dynamic width) + int8, CER on held-out fonts"),
    "kws": ("export.kws:export", "streaming keyword LSTM: ONNX with state in/out + dynamic int8, held-out-voice accuracy"),
}


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained model to int8 ONNX (needs perceive[train])",
                       description="Export a checkpoint to ONNX with its contract, check parity with "
                                   "PyTorch, quantize to int8, and measure fp32 vs int8 accuracy and "
                                   "latency into a model card.")
    esub = p.add_subparsers(dest="exporter", metavar="MODEL")
    for name, (target, help_text) in EXPORTERS.items():
        e = esub.add_parser(name, help=help_text, description=help_text)
        e.add_argument("--checkpoint", help="checkpoint.pt from `perceive train` (if the model needs one)")
        e.add_argument("--out", default=str(SHIPPED_MODELS), help=f"output folder (default: {SHIPPED_MODELS})")
        e.set_defaults(func=_runner(target))
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


def _runner(target: str):
    def run(args) -> int:
        module_name, _, function = target.partition(":")
        check_checkpoint(args.checkpoint)
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {out}: cannot make the output folder ({exc.strerror or exc})") from None
        exporter = getattr(importlib.import_module(module_name), function)
        summary = exporter(args.checkpoint, out)
        print(json.dumps(summary, indent=2, default=float))
        return 0
    return run
