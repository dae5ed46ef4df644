"""The `perceive` command. Subcommands come from pipeline.cli modules and from plugins.

training/ and export/ add `perceive train` and `perceive export` through the
``perceive.commands`` entry-point group, so the runtime never imports them and
a device without PyTorch still has every runtime command.
"""
from __future__ import annotations

import argparse
import logging
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PerceiveError as exc:
        print(f"perceive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
