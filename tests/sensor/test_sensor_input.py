"""Bad sensor input is rejected line by line, counted by reason, and never stops the stream."""
import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"


def good_lines(start_s: float, n: int, rate_hz: float = 10.0) -> list[str]:
    rows = open(FIXTURES / "activities.csv").read().splitlines()[1:]
    return [f"{start_s + i / rate_hz:.2f}," + rows[i % len(rows)].split(",", 1)[1] for i in range(n)]


def run_sense(tmp_path, lines, fmt="csv", extra=()):
    path = tmp_path / f"stream.{fmt}"
    path.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "sense", "--source",
                           f"{fmt}:{path}", "--json", *extra], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    return [e for e in out if "kind" in e], out[-1]["summary"]


def test_each_kind_of_bad_line_is_counted_and_skipped(tmp_path):
    lines = [HEADER] + good_lines(0.0, 60)
    lines += ["6.0,1,2,3,4,5",                 # a missing channel: too few fields
              "6.0,1,2,3,4,5,nan",             # NaN
              "6.0,1,2,3,4,inf,6",             # inf
              "5.9,1,2,3,4,5,6",               # duplicate timestamp
              "3.0,1,2,3,4,5,6",               # out of order
              "garbage line"]                  # malformed
    lines += good_lines(6.0, 60)
    events, summary = run_sense(tmp_path, lines)
    assert summary["rejected"] == {"malformed": 2, "non_finite": 2, "duplicate_timestamp": 1, "out_of_order": 1}
    assert summary["samples"] == 120  # every good line got through
    assert events and events[0]["data"]["activity"] == "standing"


def test_ndjson_missing_channel_is_named(tmp_path):
    keys = HEADER.split(",")
    rows = [dict(zip(keys, map(float, line.split(",")))) for line in good_lines(0.0, 110)]
    del rows[50]["gyr_z"]
    events, summary = run_sense(tmp_path, [json.dumps(r) for r in rows], fmt="ndjson")
    assert summary["rejected"] == {"missing_channel": 1} and summary["samples"] == 109


def test_wrong_sample_rate_is_rejected_not_misread(tmp_path):
    lines = [HEADER] + good_lines(0.0, 150, rate_hz=50.0)  # the model was trained at 10 Hz
    events, summary = run_sense(tmp_path, lines)
    assert events == []
    assert summary["rejected"]["rate_mismatch"] >= 140
    events, summary = run_sense(tmp_path, lines, extra=["--no-rate-check"])
    assert summary["rejected"] == {} and summary["samples"] == 150


def test_unknown_source_spec_is_explained(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "sense", "--source", "usb:1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected csv:FILE, ndjson:FILE, serial:DEVICE[@BAUD] or stdin" in proc.stderr
