"""Enrolled face templates: a JSON file written atomically with 0600 permissions (no pickle).

Every change (enrol, remove) takes an exclusive lock on ``<store>.lock`` beside the
store, re-reads the store under that lock, applies itself and writes the result
before releasing, so two commands running at once both keep their change: a
removal is never undone by an enrolment that read the store before it.

A write goes to a temporary file in the same directory, is flushed to disk, then
renamed over the old file, so a crash or a full disk at any point leaves either
the old or the new store, never a torn one. Readers take no lock: a rename is atomic.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pipeline.errors import PerceiveError
from pipeline.skills.face.store_format import MAX_STORE_BYTES, STORE_VERSION, check_embeddings, check_name, parse_store

log = logging.getLogger("perceive.face.store")

LOCK_TIMEOUT_S = 10.0  # a change holds the lock for milliseconds; longer means a stuck process
LOCK_POLL_S = 0.05
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


class StoreError(PerceiveError):
    """The template store is unreadable, was written by another model, or cannot be changed."""


def default_store_path() -> Path:
    state = os.environ.get("STATE_DIRECTORY") or os.environ.get("PERCEIVE_STATE_DIR")  # systemd sets the first
    return Path(state) / "faces.json" if state else Path.home() / ".local" / "share" / "perceive" / "faces.json"


class TemplateStore:
    """``people`` maps a name to {"templates": [[float, ...], ...], "enrolled_at": str}.

    ``dim``, when given, is the embedding length of the current model: templates of
    another length are refused when the store is read.
    """

    def __init__(self, path: str | Path, model: str, dim: int | None = None):
        self.path, self.model, self.dim = Path(path), model, dim
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.people: dict[str, dict] = self._read()

    def names(self) -> list[str]:
        return sorted(self.people)

    def templates(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(p["templates"], np.float32) for n, p in self.people.items()}

    def add(self, name: str, embeddings: np.ndarray) -> None:
        """Store ``name`` with these templates, replacing any it had."""
        rows = check_embeddings(embeddings, self.dim)
        check_name(name)
        self._change(lambda people: people.__setitem__(name, _person(rows)) or True)

    def append(self, name: str, embeddings: np.ndarray) -> int:
        """Add templates to ``name``'s (enrolling them if new); returns how many ``name`` now has."""
        rows = check_embeddings(embeddings, self.dim)
        check_name(name)

        def extend(people: dict) -> bool:
            people[name] = _person(people.get(name, {}).get("templates", []) + rows)
            return True
        self._change(extend)
        return len(self.people[name]["templates"])

    def remove(self, name: str) -> bool:
        return self._change(lambda people: people.pop(name, None) is not None)

    def _change(self, change: Callable[[dict], bool]) -> bool:
        """Apply ``change`` to the store as it is on disk now, under the lock; write if it changed."""
        with self._locked():
            people = self._read()
            changed = change(people)
            if changed:
                self._write(people)
            self.people = people
        return changed

    def _read(self) -> dict[str, dict]:
        try:
            with open(self.path, "rb") as f:
                text = f.read(MAX_STORE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"face store {self.path} is unreadable: {exc.strerror or exc}") from None
        if len(text) > MAX_STORE_BYTES:
            raise StoreError(f"face store {self.path} is over the limit of {MAX_STORE_BYTES // 2**20} MiB")
        try:
            return parse_store(text, self.model, self.dim)
        except ValueError as exc:
            raise StoreError(f"face store {self.path} {exc}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE)  # flock needs no write access
        except OSError as exc:
            raise StoreError(f"cannot lock face store {self.path}: {exc.strerror or exc}; "
                             "nothing was changed") from None
        try:
            _wait_for_lock(fd, self.lock_path)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, people: dict) -> None:
        payload = json.dumps({"version": STORE_VERSION, "model": self.model, "people": people}).encode()
        if len(payload) > MAX_STORE_BYTES:
            raise StoreError(f"face store {self.path} would be over the limit of {MAX_STORE_BYTES // 2**20} MiB: "
                             "remove someone or enrol fewer samples; nothing was changed")
        try:
            _replace_atomically(self.path, payload)
        except OSError as exc:
            raise StoreError(f"cannot write face store {self.path}: {exc.strerror or exc}; "
                             "the previous store is unchanged") from None
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself reaches the disk
        except OSError as exc:  # some file systems cannot sync a directory; the rename is done
            log.warning("face store %s written, but its directory could not be synced: %s", self.path, exc)
        finally:
            os.close(dir_fd)


def _person(rows: list) -> dict:
    return {"templates": rows, "enrolled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _wait_for_lock(fd: int, lock_path: Path) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    waited = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not waited:
                log.info("face store lock %s is held by another process; waiting up to %.0f s",
                         lock_path, LOCK_TIMEOUT_S)
                waited = True
            if time.monotonic() > deadline:
                raise StoreError(f"face store lock {lock_path} is still held by another process after "
                                 f"{LOCK_TIMEOUT_S:.0f} s; nothing was changed") from None
            time.sleep(LOCK_POLL_S)


def _replace_atomically(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".faces-", dir=path.parent)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
