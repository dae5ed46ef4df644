"""Enrolled face templates: a JSON file written atomically with 0600 permissions (no pickle).

A write goes to a temporary file in the same directory, is flushed to disk, then
renamed over the old file, so a crash at any point leaves either the old or the new
store, never a torn one.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.errors import PerceiveError

STORE_VERSION = 1


class StoreError(PerceiveError):
    """The template store is unreadable or was written by another model."""


def default_store_path() -> Path:
    state = os.environ.get("STATE_DIRECTORY") or os.environ.get("PERCEIVE_STATE_DIR")  # systemd sets the first
    return Path(state) / "faces.json" if state else Path.home() / ".local" / "share" / "perceive" / "faces.json"


class TemplateStore:
    def __init__(self, path: str | Path, model: str):
        self.path, self.model = Path(path), model
        self.people: dict[str, dict] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"face store {self.path} is unreadable: {exc}") from None
        if data.get("version") != STORE_VERSION or data.get("model") != self.model:
            raise StoreError(f"face store {self.path} holds templates of model {data.get('model')!r} "
                             f"(version {data.get('version')}); this model is {self.model!r}: re-enrol")
        self.people = data["people"]

    def names(self) -> list[str]:
        return sorted(self.people)

    def templates(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(p["templates"], np.float32) for n, p in self.people.items()}

    def add(self, name: str, embeddings: np.ndarray) -> None:
        self.people[name] = {"templates": np.asarray(embeddings, np.float32).round(6).tolist(),
                             "enrolled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.save()

    def remove(self, name: str) -> bool:
        if self.people.pop(name, None) is None:
            return False
        self.save()
        return True

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = json.dumps({"version": STORE_VERSION, "model": self.model, "people": self.people})
        fd, tmp = tempfile.mkstemp(prefix=".faces-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself reaches the disk
        finally:
            os.close(dir_fd)
