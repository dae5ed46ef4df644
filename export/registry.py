"""The exporters: each declares itself on its function with ``@EXPORTERS.register(name, help)``.

An exporter is a function ``export(checkpoint: str | None, out_dir: Path) -> dict`` (returning the
figures it measured) that writes NAME.onnx, its fp32 twin when int8 ships, and NAME.md. `perceive
export --help` lists them without importing torch (training/registry.py says how).
"""
from __future__ import annotations

from training.registry import DeclaredRegistry, Entry

EXPORTERS = DeclaredRegistry("exporter", "export", "EXPORTERS")

# Declared here instead of on its function only while the keyword model is being rewritten
# (export/kws*.py belongs to that work): the rewrite puts `@EXPORTERS.register("kws", <this help>)`
# on export/kws.py's export() and deletes these lines.
EXPORTERS.declare(Entry("kws", "export.kws", "export", "streaming keyword LSTM: ONNX with state in/out + "
                        "dynamic int8, held-out-voice accuracy"))
