"""`python -m training NAME ...` = `perceive train NAME ...`, the form torchrun launches:

    torchrun --nproc-per-node 2 -m training har --device cpu
"""
from __future__ import annotations

import argparse
import logging
import sys

from pipeline.errors import PerceiveError
from training.cli import DESCRIPTION, add_trainers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=DESCRIPTION)
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    add_trainers(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
