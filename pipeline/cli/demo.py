"""`perceive demo`: the live demo (face unlock + OCR + voice commands) with an on-screen overlay."""
from __future__ import annotations

import json

from pipeline.cli.run import int_between, seconds
from pipeline.config.engine import MAX_THREADS  # the light [engine] section: no onnxruntime to build the parser

MIN_FACE_PIXELS = 12     # the detector's smallest window: a smaller --min-face finds nothing more
MAX_FACE_PIXELS = 4096   # larger than any frame the demo shows


def register(sub) -> None:
    p = sub.add_parser("demo", help="live demo: face unlock + OCR (+ voice commands) with an overlay",
                       description="Runs face unlock and OCR on a camera, a video file, or (with neither) the "
                                   "bundled sample media, plus voice commands when the voice model and an audio "
                                   "track or microphone exist. Shows a window when a display exists (keys: e "
                                   "enrol the current face, o toggle OCR, space pause, q quit); otherwise, or "
                                   "with --headless, writes an annotated MP4, a JSON-lines event log and a "
                                   "summary with per-stage latency percentiles to --out.")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--camera", type=int, metavar="N", help="camera index, e.g. 0")
    group.add_argument("--video", metavar="FILE", help="video file instead of a camera")
    p.add_argument("--audio", metavar="FILE", help="WAV file for voice commands instead of the microphone or the sample track")
    p.add_argument("--voice-mode", choices=["wake", "commands"],
                   help="wake: `computer` opens a window for one command (shown as a listening bar); commands: always listening (default: wake on the microphone, commands on a file such as the sample track)")
    p.add_argument("--headless", action="store_true", help="no window: write results to --out")
    p.add_argument("--out", metavar="DIR", help="output folder (default when headless: perceive-demo-out)")
    p.add_argument("--store", help="face template store (default: ~/.local/share/perceive/faces.json; for the "
                                   "sample media a copy of its bundled enrolment)")
    p.add_argument("--name", default="me", help="the name `e` enrols the current face under (default: me)")
    p.add_argument("--no-ocr", dest="ocr", action="store_false", help="start with OCR off (o toggles it)")
    p.add_argument("--frame-log", action="store_true", help="also log one JSON line per frame")
    p.add_argument("--seconds", type=seconds, default=0.0, help="stop after this long (0: at the end of the input)")
    p.add_argument("--loop", action="store_true", help="replay the file from the start when it ends")
    p.add_argument("--pace", choices=["realtime", "asap"],
                   help="file replay pace (default: asap when headless, realtime in a window)")
    p.add_argument("--min-face", type=int_between(MIN_FACE_PIXELS, MAX_FACE_PIXELS), default=60,
                   help="smallest face in pixels (default: 60)")
    p.add_argument("--threads", type=int_between(0, MAX_THREADS), default=0,
                   help="ONNX Runtime intra-op threads (0: all cores)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.demo.app import Demo, DemoOptions
    from pipeline.errors import InputError
    from pipeline.skills.face.store_format import check_name
    try:
        check_name(args.name)  # before the models load: `e` would refuse it only when pressed
    except InputError as exc:
        raise InputError(f"--name: {exc}") from None
    opts = DemoOptions(camera=args.camera, video=args.video, audio=args.audio, headless=args.headless,
                       out=args.out, store=args.store, name=args.name, ocr=args.ocr, frame_log=args.frame_log,
                       seconds=args.seconds, loop=args.loop, pace=args.pace, min_face=args.min_face,
                       threads=args.threads, voice_mode=args.voice_mode)
    summary = Demo(opts).run()
    brief = {k: summary[k] for k in ("frames", "fps", "events", "unavailable", "outputs")}
    print(json.dumps(brief, indent=1))
    return 0
