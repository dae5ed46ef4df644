"""The keyword benchmark's results written where they are read: the model's contract (the chosen
thresholds and the figures) and its card (the sweep table and the targets)."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.engine import Engine, EngineConfig


def record(model: Path, result: dict, threshold: float, match_s: float) -> None:
    """The chosen threshold and the benchmark into the contract (model and fp32 twin) and the card."""
    from export.common import write_contract
    from pipeline.config.loader import to_dict
    from pipeline.contract import make_contract
    if threshold not in result["sweep"]:
        raise SystemExit(f"--write-threshold {threshold}: not one of the sweep's {list(result['sweep'])}")
    chosen = result["sweep"][threshold]
    summary = {k: v for k, v in result.items() if k not in ("sweep", "sweeps_by_hold")}
    summary["at_threshold"] = {"threshold": threshold, **chosen}
    per_keyword = result.get("per_keyword")
    for path in (model, model.with_suffix(".fp32.onnx")):
        if not path.is_file():
            continue
        data = to_dict(Engine(path, EngineConfig(warmup_runs=0)).contract)
        data.pop("schema", None)
        data["params"]["threshold"] = threshold
        data["params"]["hold_frames"] = result["hold_frames"]
        data["params"].pop("thresholds", None)
        if per_keyword or result.get("wake_thresholds"):
            data["params"]["thresholds"] = {**(per_keyword or {}).get("thresholds", {}),
                                            **result.get("wake_thresholds", {})}
        data["params"].pop("window_threshold", None)
        if result.get("window_threshold"):
            data["params"]["window_threshold"] = result["window_threshold"]
        data["metrics"]["benchmark"] = summary
        write_contract(path, make_contract(data))
    replace_card_section(model.with_suffix(".md"), BENCH_HEADING, bench_section(result, threshold, match_s))


def replace_card_section(card: Path, heading: str, section: str, before: str | None = None) -> None:
    """Put ``section`` in place of the card's section that starts with ``heading`` (up to the next
    ``## `` heading that the new section does not hold itself); a card without one gets it before the
    ``before`` heading, or at the end. The sections around it, hand-written ones included, stay."""
    lines = card.read_text().splitlines(keepends=True)
    own = {_title(line) for line in section.splitlines() if line.startswith("## ")}
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        start = end = next((i for i, line in enumerate(lines) if before and line.startswith(before)), len(lines))
    else:
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith("## ") and _title(lines[i]) not in own), len(lines))
    lines[start:end] = [section.rstrip() + "\n\n"]
    card.write_text("".join(lines).rstrip() + "\n")


def _title(heading_line: str) -> str:
    """A heading without its parenthesised remark: "## Targets (issue 3)" -> "## Targets"."""
    return heading_line.split(" (")[0].strip()


BENCH_HEADING = "## Streaming benchmark"
TARGETS = {"accuracy": 0.95, "false_accepts_per_hour": 0.5, "real_time_factor": 0.02, "latency_ms_p90": 200.0}


def bench_section(result: dict, threshold: float, match_s: float) -> str:
    """The sweep table and the issue's targets next to what was measured at the shipped threshold."""
    kinds = sorted(next(iter(result["sweep"].values())).get("accuracy_by_noise", {}))
    rows = ["| threshold | accuracy | wrong | missed | FA/h | latency p50 / p90 ms | accuracy in " + " / ".join(kinds)
            + " |", "|---|---|---|---|---|---|---|"]
    rows += [f"| {t} | {r['accuracy']:.3f} | {r['wrong_keyword']:.3f} | {r['missed']:.3f} | "
             f"{r['false_accepts_per_hour']:.2f} | {r['latency_ms_p50']:.0f} / {r['latency_ms_p90']:.0f} | "
             + " / ".join(f"{r['accuracy_by_noise'][k]['accuracy']:.2f}" for k in kinds) + " |"
             for t, r in result["sweep"].items()]
    per_keyword = result.get("per_keyword")
    at = {**(per_keyword or result["sweep"][threshold]), "real_time_factor": result["real_time_factor"]}
    met = {"accuracy": at["accuracy"] >= TARGETS["accuracy"],
           "false_accepts_per_hour": at["false_accepts_per_hour"] <= TARGETS["false_accepts_per_hour"],
           "real_time_factor": at["real_time_factor"] <= TARGETS["real_time_factor"],
           "latency_ms_p90": at["latency_ms_p90"] <= TARGETS["latency_ms_p90"]}
    targets = [f"| target | measured at the shipped threshold{'s' if per_keyword else ''} | met |", "|---|---|---|",
               f"| >= 95% of held-out-voice commands detected (right word within {match_s:g} s) | "
               f"{at['accuracy']:.1%} of {at['utterances']} | {'yes' if met['accuracy'] else '**no**'} |",
               f"| <= 0.5 false accepts / hour | {at['false_accepts_per_hour']:.2f} / h over "
               f"{result['negative_hours']:.2f} h | {'yes' if met['false_accepts_per_hour'] else '**no**'} |",
               f"| real-time factor <= 0.02 (one core) | {at['real_time_factor']:.4f} | "
               f"{'yes' if met['real_time_factor'] else '**no**'} |",
               f"| latency <= 200 ms after the word's end | p50 {at['latency_ms_p50']:.0f} ms, p90 "
               f"{at['latency_ms_p90']:.0f} ms, max {at['latency_ms_max']:.0f} ms | "
               f"{'yes' if met['latency_ms_p90'] else '**no**'} |"]
    shipped = (f"per keyword {json.dumps(per_keyword['thresholds'])} (chosen on {per_keyword['chosen_on']}; "
               f"{threshold} for any other)" if per_keyword else f"{threshold}")
    return (f"{BENCH_HEADING} (`python -m export.kws_bench`)\n\n"
            f"Shipped threshold: {shipped}, held for {result.get('hold_frames', 1)} frame(s). Negative stream: "
            f"{result['negative_hours']:.2f} h of {result['negative_words']}, in noise. Real-time factor (1 thread): {result['real_time_factor']:.4f}."
            "\n\n"
            + _culprit_line(at) +
            "```json\n" + json.dumps(result["protocol"], indent=1) + "\n```\n\n" + "\n".join(rows)
            + "\n\n## Targets (issue 3)\n\n" + "\n".join(targets) + "\n")


def _culprit_line(at: dict) -> str:
    words = at.get("false_accepts_by_word")
    if not words:
        return ""
    return ("Words behind most false accepts at this threshold (word->keyword: count): "
            + ", ".join(f"{k}: {v}" for k, v in words.items()) + ".\n\n")
