"""`perceive run CONFIG`: run the configured pipelines in the foreground."""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict

POLL_S = 0.1  # how often the main thread checks whether the pipelines are done
MAX_SECONDS = 10 * 365 * 86400  # ten years: longer is "until the sources end" (0), and overflows timers


def register(sub) -> None:
    p = sub.add_parser("run", help="run the pipelines of a config in the foreground",
                       description="Start every enabled pipeline of CONFIG, print events as JSON lines "
                                   "on stdout, and print per-stage latency, drops and budget misses when "
                                   "the sources end, after --seconds, or on Ctrl-C. A live device "
                                   "(camera, microphone, serial port, stream URL) that cannot be opened "
                                   "at start is an error naming it, unless its source sets "
                                   "wait_for_device = true (the daemon waits for it by default).")
    p.add_argument("config", help="TOML config file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--seconds", type=seconds, default=0, help="stop after this long (0: until sources end)")
    p.set_defaults(func=run)


def seconds(text: str) -> float:
    """A --seconds value: a finite number >= 0 (argparse reports the error as a usage line)."""
    import argparse
    import math
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds from 0 to {MAX_SECONDS:,} (ten years)")
    return value


def int_between(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high`` (None: no upper limit)."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number from {low}"
                                             + (f" to {high:,}" if high is not None else " up"))
        return value
    return parse


count = int_between(0)  # an --items-like value


def run(args) -> int:
    from pipeline.config.tree import load_config
    from pipeline.runtime.runner import PipelineRunner
    from pipeline.runtime.stage import StageEnv

    config = load_config(args.config, args.set, require_pipelines=True)
    for p in config.pipelines:
        if p.source.wait_for_device is None:   # in the foreground a missing device is said at once
            p.source.wait_for_device = False

    stdout_gone = threading.Event()

    def emit(event) -> None:  # runs on pipeline threads: a closed stdout stops the run from the main thread
        if stdout_gone.is_set():
            return
        try:
            print(json.dumps(asdict(event), default=str), flush=True)
        except BrokenPipeError:
            stdout_gone.set()

    runners = [PipelineRunner(p, StageEnv(config.engine, config.models.dirs, emit_fn=emit))
               for p in config.pipelines if p.enabled]
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        for r in runners:
            r.start(caller_reraises=True)
        while (any(r.running for r in runners) and not stdout_gone.is_set() and not failed(runners)
               and (deadline is None or time.monotonic() < deadline)):
            stdout_gone.wait(POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        for r in runners:
            r.stop()
    error = failed(runners)
    if error is not None:  # a source that cannot be read (missing file, missing device): one line, no stats
        raise missing_device(runners, error) or error
    for r in runners:
        print(json.dumps(r.stats(), default=str), file=sys.stderr)
    if stdout_gone.is_set():  # `perceive run X | head`: main() ends quietly
        raise BrokenPipeError
    return 0


def failed(runners) -> Exception | None:
    """The first error that stopped a pipeline: the command stops too, and raises it."""
    return next((r.error for r in runners if r.error is not None), None)


def missing_device(runners, error: Exception):
    """For a live device that never opened: the error again, with the pipeline and how to wait for it."""
    from pipeline.errors import SourceError
    for r in runners:
        if r.error is error and r.source.live and not r.source.counters["opened"]:
            return SourceError(f"pipeline {r.config.name}: {error}; set wait_for_device = true in its "
                               "source to wait for the device instead")
    return None
