"""The whole config tree, loaded from TOML with ``--set a.b=c`` overrides."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.config.loader import build, option
from pipeline.daemon.config import DaemonConfig
from pipeline.engine import EngineConfig
from pipeline.errors import ConfigError
from pipeline.runtime.runner import PipelineConfig
from pipeline import stages as _stages  # noqa: F401  (registers stage types)
from pipeline import sources as _sources  # noqa: F401  (registers source types)


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
        names = [p.name for p in self.pipelines]
        dupes = {n for n in names if names.count(n) > 1}
        return f"pipelines: duplicate name {sorted(dupes)[0]!r}" if dupes else None


def parse_value(text: str) -> Any:
    """A --set value as TOML (numbers, booleans, lists, quoted strings); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` (list items by index: ``pipelines.0.budget_ms=50``)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value")
    key, text = assignment.split("=", 1)
    parts = key.strip().split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: '{where}' is not an index of a list of {len(node)}")
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise ConfigError(f"--set {key}: '{where}' is a value, not a table")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ConfigError(f"--set {key}: '{last}' is not an index of a list of {len(node)}")
        node[int(last)] = parse_value(text)
    else:
        node[last] = parse_value(text)


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None


def load_config(path: str | Path | None = None, overrides: list[str] | tuple = ()) -> Config:
    """Read, override and validate; every error names the file and the key."""
    data = read_toml(path) if path else {}
    for assignment in overrides:
        apply_override(data, assignment)
    try:
        return build(Config, data)
    except ConfigError as exc:
        raise ConfigError(f"{path or '(defaults)'}: {exc}") from None
