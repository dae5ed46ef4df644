"""Issue 14: `perceive sense` on a source it cannot open is one line and exit 2, never a reopen loop;
closed or empty stdin is an empty stream; oversized lines and values are counted and skipped; a
serial port that goes away after it opened is reopened.
Every run has a timeout far above the few seconds it takes, so a hang fails the test."""
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline.sources.sensor import MAX_LINE_CHARS, SerialConfig, SerialSensorSource

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"
HANG_S = 60


def good_lines(start_s: float, n: int, rate_hz: float = 10.0) -> list[str]:
    rows = open(FIXTURES / "activities.csv").read().splitlines()[1:]
    return [f"{start_s + i / rate_hz:.2f}," + rows[i % len(rows)].split(",", 1)[1] for i in range(n)]


def sense(source: str, *extra: str, **run) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "sense", "--source", source, "--json",
                           *extra], capture_output=True, text=True, timeout=HANG_S, **run)


def summary(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])["summary"]


@pytest.mark.parametrize("kind", ["missing_file", "directory", "missing_serial", "file_as_serial"])
def test_a_source_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path, kind):
    plain = tmp_path / "plain.csv"
    plain.write_text(HEADER + "\n")
    spec, words = {
        "missing_file": (f"csv:{tmp_path / 'missing.csv'}", "sensor file not found"),
        "directory": (f"ndjson:{tmp_path}", "is a directory"),
        "missing_serial": (f"serial:{tmp_path / 'ttyUSB9'}@9600", "cannot open serial device"),
        "file_as_serial": (f"serial:{plain}", "is not a serial device"),
    }[kind]
    proc = sense(spec)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perceive: error: ") and words in lines[0], proc.stderr
    assert spec.split(":", 1)[1].split("@")[0] in lines[0]   # the file is named


@pytest.mark.parametrize("stdin", ["closed", "empty"])
def test_closed_or_empty_stdin_is_the_end_of_the_stream(stdin):
    if stdin == "closed":
        proc = sense("stdin", stdin=None, preexec_fn=lambda: os.close(0))
    else:
        proc = sense("stdin", stdin=subprocess.DEVNULL)
    result = summary(proc)
    assert (result["lines"], result["samples"], result["rejected"]) == (0, 0, {})


def test_stdin_that_is_not_text_is_counted_as_malformed_lines():
    garbage = bytes(range(256)) * 40 + b"\n" + b"\xff\xfe\n" * 5
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "sense", "--source", "stdin",
                           "--json"], input=garbage, capture_output=True, timeout=HANG_S)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])["summary"]
    assert result["samples"] == 0 and sum(result["rejected"].values()) == result["lines"] >= 5


def test_overlong_lines_and_float32_overflow_are_counted_and_the_stream_goes_on(tmp_path):
    lines = [HEADER] + good_lines(0.0, 60)
    lines += ["6.0,1e39,0,0,0,0,0",                       # finite as float64, inf as float32
              "6.0," + "1" * (2 * MAX_LINE_CHARS) + ",0,0,0,0,0"]   # longer than the line cap
    lines += good_lines(6.0, 60)
    path = tmp_path / "stream.csv"
    path.write_text("\n".join(lines) + "\n")
    result = summary(sense(f"csv:{path}"))
    assert result["rejected"] == {"non_finite": 1, "too_long": 1}
    assert result["samples"] == 120 and result["lines"] == 122


class _Reopens(logging.Handler):
    """Sets ``reopened`` when the source logs a failed reopen of the vanished device."""

    def __init__(self):
        super().__init__()
        self.reopened = threading.Event()

    def emit(self, record):
        if "cannot open serial device" in record.getMessage():
            self.reopened.set()


def test_a_serial_port_that_goes_away_after_opening_is_reopened():
    master, slave = os.openpty()   # a pseudo-terminal stands in for /dev/ttyUSB0
    source = SerialSensorSource(SerialConfig(type="serial", path=os.ttyname(slave), channels=["x"],
                                             columns=["t", "x"], wait_for_device=False,
                                             reconnect_initial_s=0.01, reconnect_max_s=0.02))
    watcher = _Reopens()
    logging.getLogger("perceive.source").addHandler(watcher)
    try:
        source.start()
        os.write(master, b"".join(f"{i / 10:.1f},{i}\n".encode() for i in range(5)))
        values = []
        while len(values) < 5 and (item := source.get(HANG_S)) is not None:
            values.extend(item.data[:, 0].tolist())
        assert values == [0, 1, 2, 3, 4]
        os.close(master)   # unplugged: reads fail, then the device node is gone
        os.close(slave)
        assert watcher.reopened.wait(HANG_S)
        assert source.alive and source.error is None and source.counters["reconnects"] >= 2
    finally:
        logging.getLogger("perceive.source").removeHandler(watcher)
        source.stop()
