"""Where `perceive bench model|pipeline` write their results: --json, --csv, --markdown, --plot.

Shared by ``pipeline.cli.bench`` (model) and ``pipeline.cli.bench_more`` (pipeline), which both
import it, so neither imports the other's output code.
"""
from __future__ import annotations

import sys


def output_args(p) -> None:
    p.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write the result JSON (stdout if no FILE)")
    p.add_argument("--csv", metavar="FILE",
                   help="write the results as CSV: a row per variant, or per stage and pace ('-' for stdout)")
    p.add_argument("--markdown", action="store_true", help="print a markdown table (for READMEs)")
    p.add_argument("--plot", metavar="OUT.png", help="latency CDF and histogram per variant (needs matplotlib)")


def check_outputs(args) -> None:
    """Before timing anything: a result that cannot be written would be lost after the whole run."""
    from pipeline.cli.outputs import check_output_file
    check_output_file(args.json, "--json")
    check_output_file(args.csv, "--csv")
    check_output_file(args.plot, "--plot")
    if args.plot:
        from pipeline.bench.plot import require_pyplot
        require_pyplot()  # a missing matplotlib fails now, not after minutes of timing


def write_outputs(doc: dict, args) -> None:
    from pipeline.bench import report
    from pipeline.bench.plot import plot_latency
    from pipeline.cli.outputs import write_output_file
    kind = doc["kind"]
    if args.plot:  # first: a missing matplotlib must fail before anything else is printed
        series = ({r["label"]: r["samples_ms"] for r in doc["results"] if not r["error"]} if kind == "model"
                  else {f"{r['pipeline']} {r['pace']}": r["e2e_samples_ms"] for r in doc["results"]})
        out = plot_latency(series, args.plot, report.protocol_line(doc) if kind == "model" else doc["command"])
        print(f"plot written to {out}", file=sys.stderr)
    text = report.to_json(doc)
    if args.json and args.json != "-":
        write_output_file(args.json, text, "--json")
        print(f"JSON written to {args.json}", file=sys.stderr)
    if args.csv:
        from pipeline.bench.pipeline_report import pipeline_csv
        body = report.model_csv(doc) if kind == "model" else pipeline_csv(doc)
        if args.csv == "-":
            sys.stdout.write(body)
        else:
            write_output_file(args.csv, body, "--csv")
    if args.json == "-":
        print(text)
    elif args.markdown:
        from pipeline.bench.pipeline_report import pipeline_markdown
        print(report.model_markdown(doc) if kind == "model" else pipeline_markdown(doc))
    elif args.csv != "-":
        from pipeline.bench.pipeline_report import pipeline_table
        print(report.model_table(doc) if kind == "model" else pipeline_table(doc))
