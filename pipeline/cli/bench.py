"""`perceive bench model`: time models with a printed protocol."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("bench", help="latency benchmarks",
                       description="Latency benchmarks. Every figure is printed with its protocol "
                                   "(provider, threads, warm-up, runs, onnxruntime version, CPU).")
    bsub = p.add_subparsers(dest="bench_command", metavar="WHAT")
    m = bsub.add_parser("model", help="time one or more models on inputs made from their contracts",
                        description="Warm up, then time RUNS inferences of each model on random inputs "
                                    "shaped by the model contract's example shapes (or the graph's fixed "
                                    "axes), and print min/p50/p90/p99/mean latency and throughput.")
    m.add_argument("models", nargs="*", help="model paths or names of installed models")
    m.add_argument("--all", action="store_true", help="every installed model (see `perceive models`)")
    m.add_argument("--provider", action="append", default=[],
                   help="execution provider preference, repeatable (default: cpu)")
    m.add_argument("--strict", action="store_true", help="fail if a listed provider is unavailable")
    m.add_argument("--threads", type=int, default=1, help="intra-op threads (0 = ONNX Runtime default)")
    m.add_argument("--runs", type=int, default=200, help="timed runs")
    m.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    m.add_argument("--size", action="append", default=[], metavar="AXIS=N",
                   help="value for a dynamic axis, e.g. --size width=256")
    m.add_argument("--json", action="store_true", help="print results as JSON")
    m.set_defaults(func=run_model)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_model(args) -> int:
    from pipeline.bench.model import bench_model, format_result
    from pipeline.cli.models import find_models
    from pipeline.errors import PerceiveError
    from pipeline.runtime.stage import resolve_model
    paths = [resolve_model(m, []) for m in args.models]
    if args.all:
        paths += find_models([])
    if not paths:
        raise PerceiveError("give model paths or names, or --all (no models installed yet?)")
    sizes = {}
    for s in args.size:
        axis, _, value = s.partition("=")
        if not value.isdigit():
            raise PerceiveError(f"--size {s!r}: expected AXIS=N")
        sizes[axis] = int(value)
    results = [bench_model(str(p), args.provider or ["cpu"], args.threads, args.runs, args.warmup,
                           args.strict, sizes) for p in paths]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n\n".join(format_result(r) for r in results))
    return 0
