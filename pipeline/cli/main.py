"""The `perceive` command. Subcommands come from pipeline.cli modules and from plugins.

training/ and export/ add `perceive train` and `perceive export` through the
``perceive.commands`` entry-point group, so the runtime never imports them and
a device without PyTorch still has every runtime command.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import entry_points

from pipeline.errors import PerceiveError

BUILTIN = ("pipeline.cli.models", "pipeline.cli.validate", "pipeline.cli.run", "pipeline.cli.bench",
           "pipeline.cli.sense", "pipeline.cli.ocr", "pipeline.cli.enroll", "pipeline.cli.unlock",
           "pipeline.cli.daemon", "pipeline.cli.doctor", "pipeline.cli.demo", "pipeline.cli.listen")

DESCRIPTION = """\
perceive: real-time perception on edge devices (face unlock, OCR, voice
commands, sensor intelligence) with int8 ONNX models on ONNX Runtime.

Start with `perceive models` to see the installed models and where each would
run, `perceive bench model NAME` to time one, and `perceive validate CONFIG`
to check a config before `perceive run CONFIG`."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perceive", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib
    for module in BUILTIN:
        importlib.import_module(module).register(sub)
    for ep in entry_points(group="perceive.commands"):
        try:
            ep.load()(sub)
        except ImportError as exc:  # a plugin whose extra is not installed
            p = sub.add_parser(ep.name, help=f"(unavailable: {exc})")
            p.set_defaults(func=_unavailable(ep.name, exc))
    return parser


def _unavailable(name: str, exc: Exception):
    def run(args) -> int:
        raise PerceiveError(f"`perceive {name}` is unavailable: {exc}. Install it with pip install 'perceive[train]'")
    return run


# OpenCV's own log lines ("[ WARN:0@0.1] global cap.cpp ...") and FFmpeg's ("[mjpeg @ 0x..] ...") would
# reach the terminal beside perceive's one-line errors, which already say what failed. Both are read
# when cv2 loads; a user's own setting wins, and --verbose keeps OpenCV's defaults.
# FATAL, not ERROR: probing a camera index that does not exist makes a backend (obsensor) log an
# ERROR line beside perceive's own one-line error for the same cause.
QUIET_OPENCV_ENV = {"OPENCV_LOG_LEVEL": "FATAL", "OPENCV_FFMPEG_LOGLEVEL": "-8"}  # -8: AV_LOG_QUIET
OPENCV_LOG_LEVEL_FATAL = 1  # cv::utils::logging::LOG_LEVEL_FATAL
SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a program stopped by a closed pipe


def quiet_opencv() -> None:
    for name, value in QUIET_OPENCV_ENV.items():
        os.environ.setdefault(name, value)
    if "cv2" in sys.modules:  # already loaded (main() called in-process): set the level directly
        cv2 = sys.modules["cv2"]
        # OpenCV 4 has cv2.setLogLevel; OpenCV 5 (what pip gives Python 3.10 unpinned) only cv2.utils.logging
        api = getattr(getattr(cv2, "utils", None), "logging", None)
        set_level = getattr(cv2, "setLogLevel", None) or getattr(api, "setLogLevel", None)
        if set_level is not None:
            set_level(getattr(api, "LOG_LEVEL_FATAL", OPENCV_LOG_LEVEL_FATAL))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not {"-v", "--verbose"} & set(argv):
        quiet_opencv()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away fails here, not at exit
        return code
    except PerceiveError as exc:
        print(f"perceive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return stdout_closed()


def stdout_closed() -> int:
    """The reader of our stdout went away (`perceive models | head -2`): stop quietly.

    As the Python docs on SIGPIPE advise, stdout is pointed at /dev/null so the flush at exit does
    not fail again with an "Exception ignored" message.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
