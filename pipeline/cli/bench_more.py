"""`perceive bench pipeline` and `perceive bench compare` (the model bench is in bench.py)."""
from __future__ import annotations

import json

from pipeline.cli.run import count, seconds

PIPELINE_HELP = """\
Run the pipelines of CONFIG on their sources and report per-stage p50/p90/p99,
capture-to-decision latency, drops, budget misses, CPU use and whether each
budget held (p99 within the budget). Replayed sources (video files, WAV files,
sensor files) run twice: at real-time pace, as a device would see them, and as
fast as possible (the throughput limit). Live and synthetic sources have no
replay pace and run once, paced by their own clock."""


def register_pipeline(bsub, output_args) -> None:
    import argparse
    p = bsub.add_parser("pipeline", help="run a configured pipeline on replayed sources and check its budgets",
                        description=PIPELINE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="TOML config file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--pace", action="append", default=[], choices=["realtime", "asap"],
                   help="replay pace(s) to run (default: both)")
    p.add_argument("--seconds", type=seconds, default=10.0,
                   help="stop each run after this long (0: until the source ends)")
    p.add_argument("--items", type=count, default=0, help="stop each run after this many processed items (0: no limit)")
    output_args(p)
    p.set_defaults(func=run_pipeline)


def register_compare(bsub) -> None:
    p = bsub.add_parser("compare", help="tabulate --json results from several devices or commits, with ratios",
                        description="Match the variants of several `perceive bench ... --json` files and "
                                    "print one column per file with its ratio to the first.")
    p.add_argument("results", nargs="+", help="JSON files written by `perceive bench model|pipeline --json FILE`")
    p.add_argument("--metric", default="p50_ms", choices=["p50_ms", "p90_ms", "p99_ms"], help="figure compared")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=run_compare)


def run_pipeline(args) -> int:
    from pipeline.bench.pipeline import bench_pipelines
    from pipeline.cli.bench_outputs import check_outputs, write_outputs
    check_outputs(args)
    doc = bench_pipelines(args.config, args.set, args.pace or ["realtime", "asap"], args.seconds, args.items)
    write_outputs(doc, args)
    return 0


def run_compare(args) -> int:
    from pipeline.bench.compare import compare, format_compare
    result = compare(args.results, args.metric)
    print(json.dumps(result, indent=2) if args.json else format_compare(result))
    return 0
