"""Benchmark documents: one stable JSON schema, and the table, markdown and CSV views of it.

Every document records the machine, the onnxruntime version, the providers this
build has, the command and the full protocol, so a figure never travels without
the conditions it was measured under. ``SCHEMA`` changes only with the keys.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from pipeline.config.files import read_small_text
from pipeline.engine import available_providers, runtime_version
from pipeline.errors import InputError
from pipeline.sysinfo import machine

SCHEMA = "perceive.bench/1"
KINDS = ("model", "pipeline")
MAX_RESULT_BYTES = 256 * 2**20  # a 200-run result of ten variants is under 1 MiB
DOCUMENT_KEYS = ("schema", "kind", "created", "command", "machine", "load_average_1m", "onnxruntime",
                 "available_providers", "peak_rss_mib", "protocol", "results")
KINDS = ("model", "pipeline")


def load_average() -> float | None:
    """The 1-minute load average: on a shared machine it says how much else was running."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def document(kind: str, results: list[dict], protocol: dict, peak_rss_mib: float | None,
             load_before: float | None = None) -> dict:
    return {"schema": SCHEMA, "kind": kind, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["perceive", *sys.argv[1:]]) if sys.argv else "",
            "machine": machine(), "load_average_1m": {"before": load_before, "after": load_average()},
            "onnxruntime": runtime_version(), "available_providers": available_providers(),
            "peak_rss_mib": peak_rss_mib, "protocol": protocol, "results": results}


def load_document(path: str | Path) -> dict:
    """Read a result file written with --json; refuse anything that is not one, naming why."""
    path = Path(path)
    text = read_small_text(path, MAX_RESULT_BYTES, InputError, "result file", size_hint=" (MAX_RESULT_BYTES)",
                           encoding_hint="; not a JSON benchmark result")
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not a JSON benchmark result ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"{path}: schema {found!r} is not {SCHEMA!r} (write it with `perceive bench ... --json`)")
    missing = [k for k in DOCUMENT_KEYS if k not in doc]
    if missing:
        raise InputError(f"{path}: benchmark result lacks {missing}")
    if doc["kind"] not in KINDS or not isinstance(doc["results"], list):
        raise InputError(f"{path}: kind {doc['kind']!r} is not one of {KINDS}, or results is not a list")
    return doc


def to_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, default=float, allow_nan=True)


def _f(value, fmt: str = ".3f", none: str = "-") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return none
    return format(value, fmt)


MODEL_COLUMNS = ("variant", "quant", "provider", "thr", "inputs", "size kB", "+RSS MiB", "create ms", "first ms",
                 "min", "p50", "p90", "p99", "p99.9", "mean", "/s", "GFLOP/s", "% peak", "p50 vs base")


def model_rows(doc: dict) -> list[list[str]]:
    rows = []
    for r in doc["results"]:
        if r["error"]:
            rows.append([r["label"], "ERROR: " + r["error"]])
            continue
        lat = r["latency"]
        provider = r["provider"] + (" (fallback)" if r["fallback"] else "")
        shapes = ";".join("x".join(map(str, s)) for s in r["inputs"].values())
        rows.append([r["label"], r["quantization"] or "-", provider, str(r["threads"]), shapes,
                     _f(r["size_bytes"] / 1024, ".0f"), _f(r["rss_delta_mib"], ".1f"),
                     _f(r["session_ms"], ".1f"), _f(r["first_run_ms"], ".2f"),
                     *(_f(lat[k]) for k in ("min_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms")),
                     _f(lat["throughput_per_s"], ".1f"), _f(r["gflops_per_s"], ".2f"),
                     _f(r["peak_fraction"] * 100 if r["peak_fraction"] else None, ".1f"),
                     _f(r["ratio_p50"], ".2f") + "x" if r["ratio_p50"] is not None else "-"])
    return rows


def protocol_line(doc: dict) -> str:
    p, ok = doc["protocol"], [r for r in doc["results"] if not r["error"]]
    providers = sorted({r["provider"] for r in ok}) or ["-"]
    threads = sorted({str(r["threads"]) for r in ok}) or ["-"]
    return (f"protocol: provider={','.join(providers)} threads={','.join(threads)} warmup={p['warmup']} "
            f"runs={p['runs']} interleaved={'within each model' if p['interleave'] == 'group' else 'all variants'} "
            f"scenarios={','.join(p['scenarios'])} onnxruntime={doc['onnxruntime']}; latency in ms "
            f"({p['timer']})")


def machine_line(doc: dict) -> str:
    m = doc["machine"]
    return (f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; "
            f"load average {_f(doc['load_average_1m']['before'], '.1f')} -> "
            f"{_f(doc['load_average_1m']['after'], '.1f')} (1 min); "
            f"peak RSS {_f(doc['peak_rss_mib'], '.0f')} MiB (whole process)")


def _text_table(header, rows) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) if len(row) == len(header)
                     else "  ".join(row))
    return "\n".join(lines)


def scenario_lines(doc: dict) -> list[str]:
    lines = []
    for r in doc["results"]:
        s = r.get("scenarios") or {}
        if "server" in s:
            v = s["server"]
            lines.append(f"server   {r['label']}: {v['target_qps']:.1f} q/s Poisson (achieved "
                         f"{v['achieved_qps']:.1f}), p99 {v['latency']['p99_ms']:.3f} ms vs bound "
                         f"{v['bound_ms']:.3f} ms: {'PASS' if v['passed'] else 'FAIL'}"
                         + ("" if v["enough_queries"] else " (fewer than 100 queries: p99 is near the max)"))
        if "offline" in s:
            v = s["offline"]
            lines.append(f"offline  {r['label']}: {v['value']:.1f} samples/s (batch {v['batch']}, "
                         f"{v['samples']} samples{'; ' + v['note'] if v['note'] else ''})")
    return lines


def footnotes(doc: dict) -> list[str]:
    notes = sorted({r["peak_basis"] for r in doc["results"] if r.get("peak_basis")})
    lines = ["+RSS: resident memory added by loading the variant and running it once (the first variant also "
             "pays onnxruntime's one-time set-up).",
             "p50 vs base: p50 over the p50 of the fp32 (else first) variant of the same model and input."]
    if notes:
        lines.append("% peak: achieved GFLOP/s at p50 over the nominal fp32 peak: " + "; ".join(notes) + ".")
    return lines


def model_table(doc: dict) -> str:
    out = [protocol_line(doc), machine_line(doc), "", _text_table(MODEL_COLUMNS, model_rows(doc))]
    extra = scenario_lines(doc)
    if extra:
        out += [""] + extra
    return "\n".join(out + [""] + footnotes(doc))


def model_markdown(doc: dict) -> str:
    rows = model_rows(doc)
    lines = ["| " + " | ".join(MODEL_COLUMNS) + " |", "|" + "---|" * len(MODEL_COLUMNS)]
    for row in rows:
        row = row + [""] * (len(MODEL_COLUMNS) - len(row))
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    extra = [f"- {line}" for line in scenario_lines(doc) + footnotes(doc)]
    return "\n".join([f"Command: `{doc['command']}`", "", protocol_line(doc) + ".", "",
                      machine_line(doc) + ".", "", *lines, "", *extra])


CSV_FIELDS = ("label", "model", "name", "quantization", "provider", "threads", "inputs", "size_bytes",
              "session_ms", "first_run_ms", "rss_delta_mib", "count", "min_ms", "p50_ms", "p90_ms", "p99_ms",
              "p99_9_ms", "mean_ms", "max_ms", "throughput_per_s", "flops", "gflops_per_s", "peak_fraction",
              "ratio_p50", "server_p99_ms", "server_bound_ms", "server_passed", "offline_samples_per_s", "error")


def model_csv(doc: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in doc["results"]:
        s = r.get("scenarios") or {}
        writer.writerow({**r, **r["latency"], "inputs": json.dumps(r["inputs"]),
                         "server_p99_ms": s.get("server", {}).get("value"),
                         "server_bound_ms": s.get("server", {}).get("bound_ms"),
                         "server_passed": s.get("server", {}).get("passed"),
                         "offline_samples_per_s": s.get("offline", {}).get("value")})
    return buf.getvalue()
