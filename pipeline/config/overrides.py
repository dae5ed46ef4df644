"""``--set a.b=c`` overrides applied to a plain config dict (before it is typed), without the config tree.

Light on purpose: ``training`` applies the same overrides to its own TOML files and must not load
the runtime (the config tree imports every source and stage to register them).
"""
from __future__ import annotations

from typing import Any

from pipeline.config import toml
from pipeline.errors import ConfigError


def parse_value(text: str) -> Any:
    """A --set value as TOML (numbers, booleans, lists, quoted strings); bare words stay strings."""
    return toml.parse_value(text, "--set")


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
        node[int(last)] = toml.parse_value(text, f"--set {key}")
    else:
        node[last] = toml.parse_value(text, f"--set {key}")
