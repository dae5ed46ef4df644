"""Reading a small text file a user named (a config, a benchmark result, a password file): bounded, one-line errors.

Every failure is one ``PerceiveError`` naming the file: missing, a directory, unreadable, over its
size limit (a regular file's size is checked before reading, anything else is read only up to the
limit, so /dev/zero or a huge file costs nothing), or not UTF-8. The file is opened non-blocking, so a named pipe with no writer reads as empty instead of
hanging the command in open(); reads then block as usual, so a shell pipe still works.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from pipeline.errors import PerceiveError


def read_small_text(path: str | Path, limit: int, error: type[PerceiveError], kind: str, *, prefix: str = "",
                    size_hint: str = "", encoding_hint: str = "") -> str:
    """The UTF-8 text of ``path``, at most ``limit`` bytes.

    ``kind`` names the file in messages ("config file"); ``prefix`` goes before them (a config key);
    the hints end the size and encoding messages (what the file should have been).
    """
    where = f"{prefix}{path}"
    try:
        raw = read_at_most(Path(path), limit)
    except FileNotFoundError:
        raise error(f"{where}: {kind} not found") from None
    except IsADirectoryError:
        raise error(f"{where}: is a directory, not a {kind}") from None
    except OSError as exc:
        raise error(f"{where}: cannot read: {exc.strerror or exc}") from None
    if raw is None:
        raise error(f"{where} is larger than {limit:,} bytes{size_hint}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text (byte {exc.start}){encoding_hint}") from None


def read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit``; a named pipe without a writer is empty."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            return None
        raw = f.read(limit + 1)  # devices and pipes have no size: read one byte past the limit to see it
    return raw if len(raw) <= limit else None
