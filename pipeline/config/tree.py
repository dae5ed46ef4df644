"""The whole config tree, loaded from TOML with ``--set a.b=c`` overrides.

Every section comes from a light module (``pipeline.config.engine``, ``pipeline.runtime.config``,
``pipeline.daemon.config``: dataclasses, no runtime library), and the overrides from
``pipeline.config.overrides``. Its one heavy import is ``pipeline.assembly``, for registration only:
a pipeline table may name any source or stage type, so every type must be registered before a
config is built. That keeps it beside the assembly at the top of the library; only the apps import
it (``tests/foundation/test_import_layers.py`` holds it to these imports).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.config import toml
from pipeline.config.engine import EngineConfig
from pipeline.config.loader import build, option
from pipeline.config.overrides import apply_override, parse_value  # noqa: F401  (part of this module's API)
from pipeline.daemon.config import DaemonConfig
from pipeline.errors import ConfigError
from pipeline.runtime.config import PipelineConfig
from pipeline import assembly  # noqa: F401  (every source and stage type a config may name is registered)


MAX_PIPELINES = 64  # each is a thread with its own models: an edge device runs a handful


@dataclass(kw_only=True)
class ModelsConfig:
    dirs: list[str] = option(factory=list, doc="Directories searched for NAME.onnx before the shipped models.")


@dataclass(kw_only=True)
class Config:
    log_level: Literal["debug", "info", "warning", "error"] = option("info", "Log verbosity.")
    engine: EngineConfig = option(factory=EngineConfig, doc="ONNX Runtime providers and options.")
    models: ModelsConfig = option(factory=ModelsConfig, doc="Where models are looked up.")
    pipelines: list[PipelineConfig] = option(factory=list, doc="Pipelines run by `perceive run` and the daemon.")
    daemon: DaemonConfig = option(factory=DaemonConfig, doc="`perceive daemon`: events, MQTT, metrics, watchdog.")

    def check(self) -> str | None:
        if len(self.pipelines) > MAX_PIPELINES:
            return f"pipelines: {len(self.pipelines)} configured, more than MAX_PIPELINES = {MAX_PIPELINES}"
        names = [p.name for p in self.pipelines]
        dupes = {n for n in names if names.count(n) > 1}
        return f"pipelines: duplicate name {sorted(dupes)[0]!r}" if dupes else None


def read_toml(path: str | Path) -> dict:
    """A TOML file as a dict (size-capped, UTF-8, bounded nesting and integers): pipeline.config.toml."""
    return toml.read(path)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = (),
                require_pipelines: bool = False) -> Config:
    """Read, override and validate; every error names the file and the key.

    ``require_pipelines``: the commands that run pipelines (run, daemon, validate, doctor) refuse a
    config with nothing to run, so an empty file is an error instead of "0 pipelines".
    """
    data = read_toml(path) if path else {}
    for assignment in overrides:
        apply_override(data, assignment)
    where = str(path or "(defaults)")
    try:
        config = build(Config, data)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if require_pipelines:
        check_runnable(config, where, empty=not data)
    return config


def check_runnable(config: Config, where: str, empty: bool = False) -> None:
    """At least one enabled pipeline, or a ConfigError saying what is missing."""
    if empty:
        raise ConfigError(f"{where}: the config is empty; it needs at least one [[pipelines]] table "
                          "(deploy/perceive.example.toml is a start; `perceive validate --reference` "
                          "lists every key)")
    if not config.pipelines:
        raise ConfigError(f"{where}: pipelines: none configured; add a [[pipelines]] table with a name "
                          "and a source (`perceive validate --reference` lists every key)")
    if not any(p.enabled for p in config.pipelines):
        raise ConfigError(f"{where}: pipelines: all {len(config.pipelines)} are disabled (enabled = false); "
                          "nothing would run")
