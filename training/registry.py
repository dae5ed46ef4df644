"""Registries of trainers and exporters: each declares itself on its own function, listed without importing it.

A trainer declares itself where it is defined, the way a stage does on its class (``STAGES.register``):

    @TRAINERS.register("har", "activity recognition (conv + LSTM) on BasicMotions IMU data")
    def train(config: Config, run: RunDir) -> dict: ...

and an exporter likewise with ``@EXPORTERS.register(...)`` (export/registry.py). There is no table to
keep: adding a trainer module under training/ is enough.

Why the declarations are read from the source as well as executed: every trainer and exporter module
imports torch at its top, and ``perceive --help`` / ``perceive train --help`` must list them without
importing torch (a Raspberry Pi runs the CLI without it; torch costs seconds to import). So
``entries()`` finds the ``@NAME.register("name", "help")`` lines in the package's files and parses
just those with ``ast`` (nothing is imported), and the command imports only the one module it runs. The same decorator
records the function when that module is imported; tests/training/test_registries.py checks that both
views agree, so a declaration that the scan cannot read (a computed name) fails a test, not a user.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


_MODULE_FUNCTION = re.compile(r"\n(?:async )?def (\w+)")


@dataclass(frozen=True)
class Entry:
    """One trainer or exporter: its command name, where its function lives, and its one-line help."""

    name: str
    module: str
    function: str
    help: str

    @property
    def target(self) -> str:
        return f"{self.module}:{self.function}"

    def load(self) -> Callable:
        """Import the module (torch and all) and return the declared function."""
        return getattr(importlib.import_module(self.module), self.function)


class DeclaredRegistry:
    """Functions declared with ``@<attribute>.register(name, help)`` in the modules of ``package``."""

    def __init__(self, kind: str, package: str, attribute: str):
        self.kind = kind
        self.package = package
        self.attribute = attribute
        self.registered: dict[str, Entry] = {}  # filled as declaring modules are imported
        self.declared_elsewhere: dict[str, Entry] = {}
        self._scanned: dict[str, Entry] | None = None

    def register(self, name: str, help_text: str):
        """Decorator: declares the function under ``name`` (both arguments must be string literals)."""
        def wrap(function: Callable) -> Callable:
            self.registered[name] = Entry(name, function.__module__, function.__name__, help_text)
            return function
        return wrap

    def declare(self, entry: Entry) -> None:
        """An entry whose module cannot carry the decorator yet (see the callers for why)."""
        self.declared_elsewhere[entry.name] = entry

    def entries(self) -> dict[str, Entry]:
        """Every declared entry by name, sorted, found without importing any of them."""
        if self._scanned is None:
            found = {**self.declared_elsewhere}
            for entry in scan_declarations(self.package, self.attribute):
                if entry.name in found:
                    raise RuntimeError(f"{self.kind} '{entry.name}' is declared twice: "
                                       f"{found[entry.name].target} and {entry.target}")
                found[entry.name] = entry
            self._scanned = dict(sorted(found.items()))
        return self._scanned


def scan_declarations(package: str, attribute: str) -> list[Entry]:
    """``@attribute.register("name", "help")`` on module-level functions of every module in ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    marker = f"\n@{attribute}.register("  # at the start of a line: a module-level decorator
    entries = []
    for root in map(Path, spec.submodule_search_locations):
        for path in sorted(root.rglob("*.py")):
            text = "\n" + path.read_text(encoding="utf-8")
            if marker not in text:  # most files declare nothing
                continue
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            entries += _declarations(text, marker, ".".join((package, *parts)), path)
    return entries


def _declarations(text: str, marker: str, module: str, path: Path) -> list[Entry]:
    """Only the decorator itself is parsed (``ast``, no import), not the whole module: this runs at
    every `perceive` start."""
    entries = []
    start = text.find(marker)
    while start != -1:
        function = _MODULE_FUNCTION.search(text, start)
        try:
            if function is None:
                raise ValueError("no function follows")
            call = ast.parse(text[start + len("\n@"):function.start()].strip(), mode="eval").body
            name, help_text = (ast.literal_eval(arg) for arg in call.args)
        except (AttributeError, SyntaxError, ValueError):
            line = text.count("\n", 0, start + 1)  # the text starts with an added newline
            raise RuntimeError(f"{path}:{line}: {marker.strip()}...) must be the last decorator of a module-level "
                               "function and take two string literals (name, help), so that it can be read "
                               "without importing") from None
        entries.append(Entry(name, module, function.group(1), help_text))
        start = text.find(marker, function.end())
    return entries


TRAINERS = DeclaredRegistry("trainer", "training", "TRAINERS")
