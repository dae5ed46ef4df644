"""`perceive bench compare A.json B.json ...`: the same variants across devices or commits.

Rows are matched by variant (model file name, providers, threads, inputs) for
model results and by pipeline and pace for pipeline results; each later file's
figure is shown with its ratio to the first file's.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.bench.report import load_document
from pipeline.bench.stats import ratio
from pipeline.errors import InputError

METRICS = {"model": ("p50_ms", "p90_ms", "p99_ms"), "pipeline": ("p50_ms", "p90_ms", "p99_ms")}


def _key_value(doc: dict, r: dict, metric: str) -> tuple[str, float | None]:
    if doc["kind"] == "model":
        key = f"{Path(r['model']).name} {'>'.join(r['requested_providers'])} t{r['threads']} " \
              f"{r['inputs'] or r['sizes']}"
        return key, (None if r["error"] else r["latency"][metric])
    return f"{r['pipeline']} {r['pace']}", (r["e2e"][metric] if r["e2e"]["count"] else None)


def compare(paths: list[str], metric: str = "p50_ms") -> dict:
    docs = [load_document(p) for p in paths]
    kinds = {d["kind"] for d in docs}
    if len(kinds) != 1:
        raise InputError(f"cannot compare {sorted(kinds)} results together: give files of one kind")
    kind = kinds.pop()
    if metric not in METRICS[kind]:
        raise InputError(f"--metric {metric}: choose one of {METRICS[kind]}")
    table: dict[str, list[float | None]] = {}
    for i, (path, doc) in enumerate(zip(paths, docs)):
        for n, r in enumerate(doc["results"]):
            try:
                key, value = _key_value(doc, r, metric)
            except (KeyError, TypeError, AttributeError) as exc:  # a hand-edited or truncated result
                raise InputError(f"{path}: results[{n}] is not a {kind} benchmark row "
                                 f"({type(exc).__name__}: {exc})") from None
            table.setdefault(key, [None] * len(docs))[i] = value
    sources = [_source(p, d) for p, d in zip(paths, docs)]
    rows = [{"variant": k, "values": v, "ratios": [ratio(x, v[0]) for x in v]} for k, v in table.items()]
    return {"kind": kind, "metric": metric, "sources": sources, "rows": rows}


def _source(path: str, doc: dict) -> dict:
    machine = doc["machine"] if isinstance(doc["machine"], dict) else {}
    protocol = doc["protocol"] if isinstance(doc["protocol"], dict) else {}
    return {"file": str(path), "cpu": machine.get("cpu"), "cores": machine.get("cores"),
            "onnxruntime": doc["onnxruntime"], "created": doc["created"],
            "runs": protocol.get("runs"), "warmup": protocol.get("warmup")}


def format_compare(result: dict) -> str:
    lines = [f"{result['metric']} (ms); ratio = this file / file 1 (below 1: faster)"]
    for i, s in enumerate(result["sources"], 1):
        lines.append(f"  [{i}] {s['file']}: {s['cpu']}, {s['cores']} cores, onnxruntime {s['onnxruntime']}, "
                     f"{s['created']}, warmup={s['warmup']} runs={s['runs']}")
    width = max([len(r["variant"]) for r in result["rows"]] + [7])
    head = "variant".ljust(width) + "".join(f"  {f'[{i}]':>18s}" for i in range(1, len(result["sources"]) + 1))
    lines += ["", head]
    for r in result["rows"]:
        cells = []
        for j, (v, q) in enumerate(zip(r["values"], r["ratios"])):
            text = "-" if v is None else f"{v:.3f}" + ("" if j == 0 or q is None else f" ({q:.2f}x)")
            cells.append(f"  {text:>18s}")
        lines.append(r["variant"].ljust(width) + "".join(cells))
    return "\n".join(lines)
