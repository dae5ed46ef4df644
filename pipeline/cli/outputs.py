"""Output files named on the command line: checked before any work starts, written with one-line errors.

A benchmark that runs for minutes and then cannot write its --json would lose its result, so the
commands check every output path first and report a write failure as a PerceiveError naming the flag.
"""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import InputError

STDOUT = "-"


def check_output_file(path: str | None, flag: str) -> None:
    """An existing writable folder, and not a folder itself; ``None`` and ``-`` (stdout) pass."""
    if path is None or path == STDOUT:
        return
    out = Path(path)
    folder = out.parent
    if out.is_dir():
        raise InputError(f"{flag} {path}: is a directory; give a file name")
    if not folder.is_dir():
        raise InputError(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"{flag} {path}: not writable")


def write_output_file(path: str, text: str, flag: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as exc:  # disk full, or the folder went away while the benchmark ran
        raise InputError(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None
