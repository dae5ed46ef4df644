"""`perceive listen`: spoken commands from the microphone or an audio file, printed as they are heard."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from pipeline.skills.kws.modes import DEFAULT_MODE, DEFAULT_WINDOW_S, MODES


def register(sub) -> None:
    p = sub.add_parser("listen", help="spot voice commands on the microphone or in an audio file",
                       description="Run the keyword spotter on live audio (sounddevice; any rate, resampled to "
                                   "the model's) or on an audio file (WAV, FLAC, OGG; streamed), printing each command with its confidence, "
                                   "start/end time and latency. Ctrl-C stops.",
                       epilog="examples:\n  perceive listen\n  perceive listen --device 2 --json\n"
                              "  perceive listen --wav clip.wav --threshold 0.9\n"
                              "  perceive listen --mode commands   # no wake phrase: every command always listening",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--device", default="", help="input device name (substring) or index (default: system default)")
    src.add_argument("--wav", help="an audio file to replay instead of the microphone (WAV 8/16/24/32-bit "
                                   "PCM or float, FLAC, OGG; any rate and channel count)")
    p.add_argument("--model", default="kws", help="keyword model name or path (default: kws)")
    p.add_argument("--threshold", type=float, default=0.0, help="posterior that fires (default: the model's)")
    p.add_argument("--gate-db", type=float, default=-90.0, help="energy gate in dB (default -90: off)")
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                   help=f"wake: a command is accepted only in the window after the wake phrase; commands: every "
                        f"command always listening (default: {DEFAULT_MODE})")
    p.add_argument("--window", type=float, default=DEFAULT_WINDOW_S,
                   help=f"wake mode: seconds the command window stays open (default {DEFAULT_WINDOW_S:g})")
    p.add_argument("--realtime", action="store_true", help="replay --wav at its real pace (default: as fast as possible)")
    p.add_argument("--json", action="store_true", help="print events and the summary as JSON lines")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.config.loader import build
    from pipeline.assembly import PipelineConfig, PipelineRunner
    from pipeline.runtime.stage import StageEnv
    from pipeline.sources.audio import input_device, open_audio_file

    if args.wav:   # a file that cannot be read is an error before the model loads, never a retry
        open_audio_file(args.wav).close()
        source = {"type": "wav", "path": args.wav, "pace": "realtime" if args.realtime else "asap"}
    else:   # a device that is not there at all is an error now, not a source to retry forever
        input_device(str(args.device))   # one that goes away later is reopened
        source = {"type": "microphone", "device": str(args.device), "wait_for_device": False}
    stage = {"type": "kws", "model": args.model, "threshold": args.threshold, "gate_db": args.gate_db,
             "mode": args.mode, "window_s": args.window}
    config = build(PipelineConfig, {"name": "listen", "source": source, "stages": [stage]})

    def emit(event) -> None:
        if args.json:
            print(json.dumps(asdict(event), default=str), flush=True)
        elif event.kind == "wake":
            d = event.data
            print(f"[wake: {d['phrase']} confidence={d['confidence']:.2f} t={d['t']:.2f}s; "
                  f"listening {args.window:g} s]", flush=True)
        else:
            d = event.data
            print(f"{d['keyword']:8s} confidence={d['confidence']:.2f} start={d['start']:.2f}s "
                  f"end={d['end']:.2f}s latency={d['latency_ms']:.0f}ms", flush=True)

    runner = PipelineRunner(config, StageEnv(model_dirs=[], emit_fn=emit))
    runner.run_until_interrupted()
    stats = runner.source.stats()
    summary = {"samples": stats.get("samples", 0), "overflows": stats.get("overflows", 0),
               "overflowed_samples": stats.get("overflowed_samples", 0), "stage_ms": runner.stats()["stages"]["kws"]}
    if args.json:
        print(json.dumps({"summary": summary}, default=str))
    else:
        print(f"summary: {summary['samples']} samples, {summary['overflows']} overflows", file=sys.stderr)
    return 0
