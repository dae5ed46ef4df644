"""`perceive bench model|pipeline|compare`: latency with its protocol, in one run, side by side."""
from __future__ import annotations

import math
from pathlib import Path

from pipeline.cli.bench_outputs import check_outputs, output_args, write_outputs
from pipeline.cli.run import int_between

MAX_RUNS = 1_000_000            # timed runs or server queries per variant: hours for a 10 ms model
MAX_WARMUP = 1_000_000
MAX_OFFLINE_SAMPLES = 10_000_000
MAX_OFFLINE_BATCH = 1024        # the batch is one tensor in memory: 1024 copies of the sample
MAX_SERVER_S = 24 * 3600        # queries / rate: a tiny rate would sleep between queries for ever

MODEL_HELP = """\
Time one or more models, and variants of them, side by side in one run.
Variants are the cross product of the models, --provider, --threads and --size
values (or --input sample files). The variants of one model on one input form
a group, timed interleaved (run i of every variant before run i+1 of any) so
machine drift hits them alike; groups run one after another. Each row shows
its p50 as a ratio of its group's baseline (the fp32 variant, else the first).
Session creation, first inference, added RSS, model size, estimated FLOPs and
achieved GFLOP/s are reported too; --scenario adds MLPerf-style server
(Poisson arrivals, p99 vs a bound) and offline (throughput) runs.

examples:
  perceive bench model har --fp32 --threads 1,2          fp32 vs int8, 1 vs 2 threads
  perceive bench model m.onnx --provider cpu --provider xnnpack
  perceive bench model ocr_rec --size width=128,256,512  sweep a dynamic axis
  perceive bench model face_embed --input face.png       a real sample file
  perceive bench model --all --fp32 --threads 1,2 --markdown
  perceive bench model kws --scenario server --server-rate 50 --server-bound-ms 10"""


def _model_parser(bsub) -> None:
    m = bsub.add_parser("model", help="time models and variants side by side (interleaved, with ratios)",
                        description=MODEL_HELP, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    m.add_argument("models", nargs="*", help="model paths or names of installed models")
    m.add_argument("--all", action="store_true", help="every installed model (see `perceive models`)")
    m.add_argument("--dir", action="append", default=[], help="with --all or names: also look in this folder")
    m.add_argument("--fp32", action="store_true", help="also time each model's fp32 twin (from its contract)")
    m.add_argument("--provider", action="append", default=[], metavar="P[,P2...]",
                   help="one variant per use; a comma list is a preference order (default: cpu)")
    m.add_argument("--strict", action="store_true", help="fail if a listed provider is unavailable")
    m.add_argument("--threads", default="1", metavar="N[,N2...]",
                   help="intra-op thread counts, one variant each (0 = ONNX Runtime default); default 1")
    m.add_argument("--runs", type=int, default=200, help="timed runs per variant")
    m.add_argument("--warmup", type=int, default=20, help="untimed runs per variant first")
    m.add_argument("--size", action="append", default=[], metavar="AXIS=N[,N2...]",
                   help="dynamic axis values, swept as a cross product, e.g. --size width=128,256")
    m.add_argument("--input", action="append", default=[], metavar="FILE",
                   help="real sample file (.npy, .npz, or an image for image models); one variant each")
    m.add_argument("--scenario", action="append", default=[], choices=["single_stream", "server", "offline"],
                   help="MLPerf-style scenarios to add to single_stream (repeatable)")
    m.add_argument("--server-rate", type=float, default=0.0, help="server: Poisson queries/s "
                   "(default: half the single-stream throughput)")
    m.add_argument("--server-queries", type=int, default=500, help="server: queries issued")
    m.add_argument("--server-bound-ms", type=float, default=0.0, help="server: p99 bound "
                   "(default: twice the single-stream p90)")
    m.add_argument("--offline-samples", type=int, default=256, help="offline: samples run")
    m.add_argument("--offline-batch", type=int, default=8,
                   help="offline: batch size (models with a dynamic batch axis)")
    m.add_argument("--interleave", choices=["group", "all"], default="group",
                   help="round-robin the variants of each model (group, default) or of every model (all)")
    m.add_argument("--seed", type=int_between(0), default=0, help="seed of synthetic inputs and Poisson arrivals")
    output_args(m)
    m.set_defaults(func=run_model)


def register(sub) -> None:
    p = sub.add_parser("bench", help="latency benchmarks: models, pipelines, comparisons",
                       description="Latency benchmarks. Every figure is printed with its protocol "
                                   "(provider, threads, warm-up, runs, onnxruntime version, CPU).")
    bsub = p.add_subparsers(dest="bench_command", metavar="WHAT")
    _model_parser(bsub)
    from pipeline.cli.bench_more import register_compare, register_pipeline
    register_pipeline(bsub, output_args)
    register_compare(bsub)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _int_list(text: str, flag: str) -> list[int]:
    from pipeline.errors import InputError
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{flag} {text!r}: expected N or N1,N2,...") from None
    from pipeline.engine import MAX_THREADS
    if any(not 0 <= v <= MAX_THREADS for v in values):
        raise InputError(f"{flag} {text!r}: each must be between 0 and {MAX_THREADS}")
    return values


def model_paths(args) -> list[Path]:
    from pipeline.cli.models import find_models
    from pipeline.errors import PerceiveError
    from pipeline.runtime.stage import resolve_model
    found = find_models(args.dir)  # also checks every --dir: a mistyped folder is not skipped silently
    paths = [resolve_model(m, args.dir) for m in args.models]
    if args.all:
        paths += found
    if args.fp32:  # each twin right after its model, so the table reads fp32 / int8 pairs
        paths = [q for p in paths for q in (p, _fp32_twin(p)) if q is not None]
    unique = list(dict.fromkeys(p.resolve() for p in paths))
    if not unique:
        raise PerceiveError("give model paths or names, or --all (no models installed yet?)")
    return unique


def _fp32_twin(path: Path) -> Path | None:
    from pipeline.engine import Engine, EngineConfig
    from pipeline.errors import PerceiveError
    try:
        contract = Engine(path, EngineConfig(warmup_runs=0), warmup=False).contract
    except PerceiveError:
        return None  # the model's own row reports why it cannot load
    if contract is None or contract.quantization.scheme == "none":
        return None
    twin = contract.quantization.fp32_twin
    if twin and (path.parent / twin).is_file():
        return path.parent / twin
    import logging
    logging.getLogger("perceive.bench").warning(
        "--fp32: %s is %s and its fp32 twin %s; timing it alone", path.name, contract.quantization.scheme,
        f"'{twin}' is not installed next to it" if twin else "is not named in its contract")
    return None


def run_model(args) -> int:
    from pipeline.bench.inputs import parse_sizes
    from pipeline.bench.model import Protocol, bench_models, plan_variants, rss_mib
    from pipeline.bench.report import document, load_average
    from pipeline.errors import PerceiveError
    load_before = load_average()
    check_model_args(args)
    check_outputs(args)
    if args.input and args.size:
        raise PerceiveError("--size and --input exclude each other: a sample file fixes the input shape")
    providers = [s.split(",") for s in args.provider] or [["cpu"]]
    check_providers(providers)
    variants = plan_variants(model_paths(args), providers, _int_list(args.threads, "--threads"),
                             parse_sizes(args.size), args.input)
    protocol = Protocol(runs=args.runs, warmup=args.warmup, strict=args.strict, seed=args.seed,
                        scenarios=("single_stream", *dict.fromkeys(s for s in args.scenario if s != "single_stream")),
                        server_rate=args.server_rate, server_queries=args.server_queries,
                        server_bound_ms=args.server_bound_ms, offline_samples=args.offline_samples,
                        offline_batch=args.offline_batch, interleave=args.interleave)
    rows = bench_models(variants, protocol)
    doc = document("model", rows, protocol.as_dict(), rss_mib()[1], load_before)
    write_outputs(doc, args)
    failed = [r for r in rows if r["error"]]
    if len(failed) == len(rows):
        raise PerceiveError("no variant could run: " + "; ".join(f"{r['label']}: {r['error']}" for r in failed))
    return 1 if failed else 0


def check_model_args(args) -> None:
    """Counts and rates within limits, so a typo fails now instead of running for days or exhausting memory."""
    from pipeline.errors import InputError
    limits = {"--runs": (args.runs, 1, MAX_RUNS), "--warmup": (args.warmup, 0, MAX_WARMUP),
              "--server-queries": (args.server_queries, 1, MAX_RUNS),
              "--offline-samples": (args.offline_samples, 1, MAX_OFFLINE_SAMPLES),
              "--offline-batch": (args.offline_batch, 1, MAX_OFFLINE_BATCH)}
    for flag, (value, low, high) in limits.items():
        if not low <= value <= high:
            raise InputError(f"{flag} {value}: must be between {low} and {high:,}")
    for flag, value in (("--server-rate", args.server_rate), ("--server-bound-ms", args.server_bound_ms)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{flag} {value}: must be a finite number >= 0 (0: the default)")
    if args.server_rate and args.server_queries / args.server_rate > MAX_SERVER_S:
        raise InputError(f"--server-queries {args.server_queries} at --server-rate {args.server_rate:g}/s would "
                         f"take {args.server_queries / args.server_rate:,.0f} s, over the limit of {MAX_SERVER_S} s")


def check_providers(specs: list[list[str]]) -> None:
    """Known names only: a typo would otherwise be timed as a silent fallback to the CPU."""
    from pipeline.engine import PROVIDERS
    from pipeline.errors import InputError
    for name in (n for spec in specs for n in spec):
        if name not in PROVIDERS:
            raise InputError(f"--provider {name!r}: unknown provider (known: {', '.join(PROVIDERS)})")
