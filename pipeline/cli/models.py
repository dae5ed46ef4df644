"""`perceive models`: installed models with their contract, size and provider."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.runtime.stage import SHIPPED_MODELS


def register(sub) -> None:
    p = sub.add_parser("models", help="list installed models, their contracts and providers",
                       description="List every .onnx model in the shipped model folder and in --dir, with "
                                   "task, version, quantization, size, licence and the execution provider it "
                                   "would run on given --provider preferences.")
    p.add_argument("--dir", action="append", default=[], help="also list models in this folder")
    p.add_argument("--provider", action="append", default=[],
                   help="provider preference, repeatable (default: cpu)")
    p.add_argument("--json", action="store_true", help="print JSON with the full contracts")
    p.set_defaults(func=run)


def find_models(dirs: list[str]) -> list[Path]:
    from pipeline.errors import InputError
    seen: list[Path] = []
    for d in [*map(Path, dirs), SHIPPED_MODELS]:
        try:
            if not d.expanduser().is_dir():
                raise InputError(f"--dir {d}: not a folder")
            # a folder named x.onnx, or a dangling link, is not a model
            seen.extend(sorted(p for p in d.expanduser().glob("*.onnx") if p.is_file()))
        except OSError as exc:  # a folder we may not enter (is_dir raises there on Python < 3.12)
            raise InputError(f"--dir {d}: cannot list it ({exc.strerror or exc})") from None
    return seen


def run(args) -> int:
    from pipeline.config.loader import to_dict
    from pipeline.engine import Engine, EngineConfig
    from pipeline.errors import InputError, PerceiveError
    config = EngineConfig(providers=args.provider or ["cpu"], warmup_runs=0)
    if config.check():  # once, instead of the same refusal on every model's row
        raise InputError(f"--provider: {config.check().partition(': ')[2]}")
    rows = []
    for path in find_models(args.dir):
        row = {"path": str(path), "size_kb": round(path.stat().st_size / 1024, 1)}
        try:
            engine = Engine(path, config, warmup=False)
            c = engine.contract
            row.update(name=c.name, task=c.task, version=c.version, quantization=c.quantization.scheme,
                       licence=c.provenance.licence, provider=engine.provider,
                       inputs=[i.describe() for i in engine.inputs], contract=to_dict(c))
        except PerceiveError as exc:
            row["error"] = str(exc)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no models found in {SHIPPED_MODELS}" + (f" or {args.dir}" if args.dir else ""))
        return 0
    print(f"{'model':34s} {'task':12s} {'ver':6s} {'quant':16s} {'size':>9s} {'provider':9s} licence")
    for r in rows:
        name = Path(r["path"]).name
        if "error" in r:
            print(f"{name:34s} REFUSED: {r['error']}")
            continue
        print(f"{name:34s} {r['task']:12s} {r['version']:6s} {r['quantization']:16s} "
              f"{r['size_kb']:>7.0f}kB {r['provider']:9s} {r['licence']}")
    return 0
