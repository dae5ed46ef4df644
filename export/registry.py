"""The exporters: each declares itself on its function with ``@EXPORTERS.register(name, help)``.

An exporter is a function ``export(checkpoint: str | None, out_dir: Path) -> dict`` (returning the
figures it measured) that writes NAME.onnx, its fp32 twin when int8 ships, and NAME.md. `perceive
export --help` lists them without importing torch (training/registry.py says how).
"""
from __future__ import annotations

from training.registry import DeclaredRegistry

EXPORTERS = DeclaredRegistry("exporter", "export", "EXPORTERS")
