"""Table and CSV views of a pipeline benchmark document."""
from __future__ import annotations

import csv
import io

from pipeline.bench.report import machine_line


def _held(value) -> str:
    return "-" if value is None else ("held" if value else "MISSED")


def _lat(s: dict) -> str:
    return f"p50 {s['p50_ms']:.2f}  p90 {s['p90_ms']:.2f}  p99 {s['p99_ms']:.2f} ms  (n={s['count']})"


def pipeline_table(doc: dict) -> str:
    p = doc["protocol"]
    lines = [f"protocol: config={p['config']} overrides={p['overrides'] or 'none'} paces={','.join(p['paces'])} "
             f"limit={p['seconds']} s/{p['items'] or 'no'} items; engine providers={p['engine']['providers']} "
             f"threads={p['engine']['intra_op_threads']}; held = {p['held']}; onnxruntime={doc['onnxruntime']}",
             machine_line(doc)]
    for r in doc["results"]:
        drops = ", ".join(f"{k}={v}" for k, v in r["drops"].items())
        lines += ["", f"pipeline {r['pipeline']} ({r['source_type']}, pace: {r['pace']}): {r['processed']} of "
                      f"{r['items']} items in {r['wall_s']:.1f} s ({r['items_per_s']:.1f}/s), CPU "
                      f"{r['cpu_core_share'] * 100:.0f}% of a core ({r['cpu_machine_share'] * 100:.0f}% of the "
                      f"machine), providers {r['providers'] or '-'}",
                  f"  drops: {drops}; budget misses: {r['budget_misses']} end-to-end, "
                  f"{r['stage_budget_misses']} stage"]
        if r.get("note"):
            lines.append(f"  note: {r['note']}")
        for s in r["stages"]:
            lines.append(f"  stage {s['stage']:16s} {_lat(s)}  budget {s['budget_ms'] or '-'} ms "
                         f"misses {s['misses']}  {_held(s['held'])}")
        e = r["e2e"]
        lines.append(f"  capture->decision       {_lat(e)}  budget {e['budget_ms'] or '-'} ms "
                     f"misses {e['misses']}  {_held(e['held'])}")
    return "\n".join(lines)


CSV_FIELDS = ("pipeline", "pace", "stage", "count", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms",
              "budget_ms", "misses", "held", "cpu_core_share", "items_per_s")


def pipeline_csv(doc: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in doc["results"]:
        common = {"pipeline": r["pipeline"], "pace": r["pace"], "cpu_core_share": r["cpu_core_share"],
                  "items_per_s": r["items_per_s"]}
        for s in [*r["stages"], r["e2e"]]:
            writer.writerow({**common, **s})
    return buf.getvalue()


def pipeline_markdown(doc: dict) -> str:
    return f"Command: `{doc['command']}`\n\n```\n{pipeline_table(doc)}\n```"
