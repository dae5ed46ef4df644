"""`perceive sense`: activity recognition or anomaly detection on a sensor stream."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict


def register(sub) -> None:
    p = sub.add_parser("sense", help="recognise activities or flag anomalies on a sensor stream",
                       description="Read a sensor stream, validate every line (bad lines, lines longer than 64 Ki "
                                   "characters and values beyond float32 are counted by reason and skipped), "
                                   "and print activity changes (--model har) or anomalies "
                                   "(--model anomaly). CSV needs a header line naming the time column and the "
                                   "model's channels (see `perceive models`); NDJSON lines are objects with "
                                   "the same keys. A file or serial port that cannot be opened is an error (exit 2); a "
                                   "serial port that goes away later is reopened; stdin ends the run at its end.",
                       epilog="examples:\n  perceive sense --source csv:walk.csv\n"
                              "  perceive sense --model anomaly --source serial:/dev/ttyUSB0@115200 "
                              "--columns t,value\n  sensor-tool | perceive sense --source stdin --json",
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True,
                   help="csv:FILE, ndjson:FILE, serial:DEVICE[@BAUD] or stdin")
    p.add_argument("--model", default="har", help="har (activity) or anomaly, or a model path (default: har)")
    p.add_argument("--format", choices=["csv", "ndjson"], default="csv", help="line format for serial/stdin")
    p.add_argument("--columns", default="", help="CSV column names when the stream has no header, e.g. t,value")
    p.add_argument("--time-key", default="t", help="name of the timestamp column/key, in seconds (default: t)")
    p.add_argument("--realtime", action="store_true", help="replay files at their recorded pace")
    p.add_argument("--no-rate-check", action="store_true", help="accept any sample rate")
    p.add_argument("--json", action="store_true", help="print events and the summary as JSON lines")
    p.set_defaults(func=run)


def source_table(spec: str, args, channels: list[str], rate: float) -> dict:
    kind, _, target = spec.partition(":")
    common = {"channels": channels, "time_key": args.time_key, "format": args.format,
              "columns": [c for c in args.columns.split(",") if c], "block": 16,
              "sample_rate_hz": 0.0 if args.no_rate_check else rate}
    if kind in ("csv", "ndjson") and target:
        return {"type": "sensor_file", "path": target, **common, "format": kind,
                "pace": "realtime" if args.realtime else "asap"}
    if kind == "serial" and target:
        device, _, baud = target.partition("@")
        # a port that is not there at start is an error; one that goes away later is reopened
        return {"type": "serial", "path": device, "baud": _baud(baud, spec), "wait_for_device": False, **common}
    if kind == "stdin":
        return {"type": "stdin", **common}
    from pipeline.errors import ConfigError
    raise ConfigError(f"--source {spec!r}: expected csv:FILE, ndjson:FILE, serial:DEVICE[@BAUD] or stdin")


def _baud(text: str, spec: str) -> int:
    if not text:
        return 115200
    if not text.isdigit():
        from pipeline.errors import ConfigError
        raise ConfigError(f"--source {spec!r}: baud rate {text!r} is not a number")
    return int(text)


def run(args) -> int:
    from pipeline.config.loader import build
    from pipeline.engine import Engine, EngineConfig
    from pipeline.assembly import PipelineConfig, PipelineRunner
    from pipeline.runtime.stage import StageEnv, resolve_model

    engine = Engine(resolve_model(args.model, []), EngineConfig(warmup_runs=1))
    contract = engine.contract
    stage = {"har": "activity", "anomaly": "anomaly"}.get(contract.task)
    if stage is None:
        from pipeline.errors import ContractError
        raise ContractError(f"model {engine.path.name} is a '{contract.task}' model, not har or anomaly")
    source = source_table(args.source, args, contract.sensor.channels, contract.sensor.sample_rate_hz)
    config = build(PipelineConfig, {"name": "sense", "source": source,
                                    "stages": [{"type": stage, "model": str(engine.path)}]})

    def emit(event) -> None:
        if args.json:
            print(json.dumps(asdict(event), default=str), flush=True)
        else:
            print(f"{event.kind:9s} " + " ".join(f"{k}={v}" for k, v in event.data.items()
                                                 if k != "probabilities"), flush=True)

    runner = PipelineRunner(config, StageEnv(model_dirs=[], emit_fn=emit))
    runner.run_until_interrupted()
    stats = runner.source.stats()
    rejected = {k.removeprefix("rejected_"): v for k, v in stats.items() if k.startswith("rejected_")}
    summary = {"lines": stats.get("lines", 0), "samples": stats.get("samples", 0), "rejected": rejected,
               "stage_ms": runner.stats()["stages"][stage]}
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print(f"summary: {summary['lines']} lines, {summary['samples']} samples accepted, "
              f"rejected {rejected or 'none'}", file=sys.stderr)
    return 0
