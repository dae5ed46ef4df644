"""Bad config input gets one line naming the file, the key and the limit, exit code 2, no traceback."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli.main import main
from pipeline.config import toml
from pipeline.config.tree import MAX_PIPELINES, load_config
from pipeline.daemon.config import MAX_UNIX_PATH_BYTES
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

PIPELINE = """
[[pipelines]]
name = "cam"
budget_ms = 80
[pipelines.source]
type = "synthetic_video"
fps = 15
[[pipelines.stages]]
type = "delay"
ms = 5
"""


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *names: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perceive: error: "), err
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def write(tmp_path: Path, content: str | bytes, name: str = "perceive.toml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


BAD_FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" * 4, ["not UTF-8"]),
    "latin-1": ('log_level = "d\xe9bug"\n'.encode("latin-1"), ["not UTF-8", "byte 14"]),
    "nul byte": (b"log_level = 1\x00\n", ["malformed TOML"]),
    "int 10**400 in a number key": (PIPELINE.replace("budget_ms = 80", f"budget_ms = {10**400}"),
                                    ["pipelines[0].budget_ms", "out of range"]),
    "int of 5000 digits": (PIPELINE.replace("fps = 15", "fps = 1" + "0" * 5000), ["integer out of range"]),
    "list nested 5000 deep": (f"x = {nested(5000)}\n" + PIPELINE, [f"nested deeper than {toml.MAX_NESTING}"]),
    "tables nested 5000 deep": (PIPELINE + "[" + ".".join(["t"] * 5000) + "]\nx = 1\n",
                                [f"nested deeper than {toml.MAX_NESTING}"]),
    "inline tables nested 3000 deep": ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n" + PIPELINE,
                                       [f"nested deeper than {toml.MAX_NESTING}"]),
    "list nested 40 deep": (f"x = {nested(40)}\n" + PIPELINE, ["x", f"nested deeper than {toml.MAX_NESTING}"]),
    "empty file": ("", ["the config is empty", "[[pipelines]]"]),
    "only comments": ("# nothing here\n", ["the config is empty"]),
    "no pipelines": ('[engine]\nproviders = ["cpu"]\n', ["pipelines: none configured"]),
    "all disabled": (PIPELINE.replace('name = "cam"', 'name = "cam"\nenabled = false'), ["all 1 are disabled"]),
    "metrics port too big": (PIPELINE + "[daemon.metrics]\nport = 70000\n", ["daemon.metrics.port", "65535"]),
    "metrics port negative": (PIPELINE + "[daemon.metrics]\nport = -1\n", ["daemon.metrics.port", ">= 0"]),
    "mqtt port zero": (PIPELINE + "[daemon.mqtt]\nport = 0\n", ["daemon.mqtt.port", ">= 1"]),
    "socket path too long": (PIPELINE + f'[daemon.events]\npath = "/tmp/{"s" * 200}.sock"\n',
                             ["daemon.events.path", f"{MAX_UNIX_PATH_BYTES}-byte limit"]),
    "negative budget": (PIPELINE.replace("budget_ms = 80", "budget_ms = -1"), ["pipelines[0].budget_ms", ">= 0"]),
    "nan budget": (PIPELINE.replace("budget_ms = 80", "budget_ms = nan"), ["pipelines[0].budget_ms", "finite"]),
    "inf budget": (PIPELINE.replace("budget_ms = 80", "budget_ms = inf"), ["pipelines[0].budget_ms", "finite"]),
    "negative stage budget": (PIPELINE.replace("ms = 5", "ms = 5\nbudget_ms = -5"),
                              ["pipelines[0].stages[0].budget_ms", ">= 0"]),
    "every_nth zero": (PIPELINE + "[pipelines.budget]\npolicy = \"every_nth\"\nevery_nth = 0\n",
                       ["pipelines[0].budget.every_nth", ">= 1"]),
    "downscale zero": (PIPELINE + "[pipelines.budget]\ndownscale = 0\n", ["pipelines[0].budget.downscale", "> 0"]),
    "min_scale above one": (PIPELINE + "[pipelines.budget]\nmin_scale = 2\n", ["min_scale", "<= 1"]),
    "watchdog stall zero": (PIPELINE + "[daemon.watchdog]\nstall_s = 0\n", ["daemon.watchdog.stall_s", "> 0"]),
    "buckets not increasing": (PIPELINE + "[daemon.metrics]\nlatency_buckets_ms = [5, 1]\n",
                               ["latency_buckets_ms", "increasing"]),
    "event queue zero": (PIPELINE + "[daemon.events]\nqueue = 0\n", ["daemon.events.queue", ">= 1"]),
    "stop timeout 1e300": (PIPELINE + "[daemon]\nstop_timeout_s = 1e300\n", ["daemon.stop_timeout_s", "<= 86400"]),
    "too many buckets": (PIPELINE + f"[daemon.metrics]\nlatency_buckets_ms = {list(range(1, 100))}\n",
                         ["latency_buckets_ms", "MAX_BUCKETS"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_config_file_is_one_line_naming_file_and_key(tmp_path, capsys, case):
    content, names = BAD_FILES[case]
    path = write(tmp_path, content)
    assert_one_line_error(*cli(capsys, "validate", str(path))[::2], str(path), *names)


def test_oversized_config_is_refused_before_parsing(tmp_path, capsys):
    path = write(tmp_path, PIPELINE + "# " + "x" * toml.MAX_CONFIG_BYTES + "\n")
    assert_one_line_error(*cli(capsys, "validate", str(path))[::2], str(path), "MAX_CONFIG_BYTES")


def test_directory_and_unreadable_paths(tmp_path, capsys):
    assert_one_line_error(*cli(capsys, "validate", str(tmp_path))[::2], str(tmp_path), "is a directory")
    missing = tmp_path / "nope.toml"
    assert_one_line_error(*cli(capsys, "validate", str(missing))[::2], str(missing), "not found")


def test_socket_path_at_the_limit_is_accepted(tmp_path):
    folder = "/tmp/"
    path = folder + "s" * (MAX_UNIX_PATH_BYTES - len(folder))
    assert len(path) == MAX_UNIX_PATH_BYTES
    config = load_config(write(tmp_path, PIPELINE + f'[daemon.events]\npath = "{path}"\n'))
    assert config.daemon.events.path == path
    with pytest.raises(ConfigError, match="daemon.events.path"):
        load_config(write(tmp_path, PIPELINE + f'[daemon.events]\npath = "{path}x"\n'))


@pytest.mark.parametrize("assignment, names", [
    (f"pipelines.0.budget_ms={10**400}", ["--set pipelines.0.budget_ms", "out of range"]),
    (f"pipelines.0.budget_ms={nested(3000)}", ["--set pipelines.0.budget_ms", "nested deeper"]),
    ("pipelines.0.budget_ms=-3", ["pipelines[0].budget_ms", ">= 0"]),
    ("daemon.metrics.port=65536", ["daemon.metrics.port", "65535"]),
])
def test_bad_overrides_are_named(tmp_path, capsys, assignment, names):
    path = write(tmp_path, PIPELINE)
    assert_one_line_error(*cli(capsys, "validate", str(path), "--set", assignment)[::2], *names)


def test_zero_budget_still_means_none_and_bounds_are_documented(tmp_path, capsys):
    config = load_config(write(tmp_path, PIPELINE.replace("budget_ms = 80", "budget_ms = 0")),
                         require_pipelines=True)
    assert config.pipelines[0].budget_ms == 0 and not math.isnan(config.pipelines[0].budget_ms)
    code, out, _ = cli(capsys, "validate", "--reference")
    assert code == 0
    port_line = next(line for line in out.splitlines() if line.startswith("daemon.metrics.port "))
    assert "(>= 0 and <= 65535)" in port_line


@pytest.mark.parametrize("case", ["binary", "int 10**400 in a number key", "list nested 5000 deep", "empty file"])
def test_real_command_prints_no_traceback(tmp_path, case):
    path = write(tmp_path, BAD_FILES[case][0])
    for command in (["validate", str(path)], ["run", str(path)]):
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", *command], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and str(path) in proc.stderr


def test_python_310_uses_tomli_when_tomllib_is_missing(tmp_path):
    """Python 3.10 has no tomllib: hide it and check that tomli parses every config instead."""
    pytest.importorskip("tomli", reason="tomli is in the dev extra (and a dependency on Python 3.10)")
    path = write(tmp_path, PIPELINE)
    script = ("import sys; sys.modules['tomllib'] = None\n"
              "from pipeline.config import toml\n"
              "from pipeline.config.tree import load_config\n"
              f"config = load_config({str(path)!r}, ['pipelines.0.budget_ms=40'], require_pipelines=True)\n"
              "print(toml.PARSER, config.pipelines[0].budget_ms, 'tomllib' in sys.modules and sys.modules['tomllib'])\n"
              "try:\n    toml.loads('a = [')\nexcept Exception as exc:\n    print(type(exc).__name__)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["tomli", "40.0", "None", "ConfigError"]


def test_toml_is_parsed_in_one_place_only():
    """Every TOML read goes through pipeline/config/toml.py, so the 3.10 fallback and the limits hold."""
    pattern = re.compile(r"^\s*(import|from)\s+toml(lib|i)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for folder in ("pipeline", "training", "export", "tests", "deploy")
                 for p in (ROOT / folder).rglob("*.py") if pattern.search(p.read_text(errors="replace"))]
    assert offenders == ["pipeline/config/toml.py"]


def test_a_named_pipe_without_writer_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "perceive.toml"
    os.mkfifo(fifo)
    assert_one_line_error(*cli(capsys, "validate", str(fifo))[::2], str(fifo), "the config is empty")


def test_an_endless_device_is_cut_at_the_size_cap(capsys):
    assert_one_line_error(*cli(capsys, "validate", "/dev/zero")[::2], "/dev/zero", "MAX_CONFIG_BYTES")


def test_too_many_pipelines(tmp_path, capsys):
    many = "".join(PIPELINE.replace('"cam"', f'"cam{i}"') for i in range(MAX_PIPELINES + 1))
    path = write(tmp_path, many)
    assert_one_line_error(*cli(capsys, "validate", str(path))[::2], "pipelines", f"MAX_PIPELINES = {MAX_PIPELINES}")


SYNTHETIC = ('pipelines=[{name="s", source={type="synthetic_video", fps=50, frames=5, width=64, height=48}, '
             'stages=[{type="STAGE", KEY=VALUE}]}]')


@pytest.mark.parametrize("stage, key, value, limit", [
    ("delay", "ms", "-1", ">= 0"),                       # was a ValueError traceback from time.sleep
    ("delay", "startup_ms", "1e12", "<= 3.6e\\+06"),         # was a start-up that never ended
    ("model\", model=\"ocr_rec", "width", "99999999", "<= 8192"),  # was a 3.2 G-element tensor per frame
])
def test_builtin_stage_options_are_bounded(stage, key, value, limit):
    override = SYNTHETIC.replace("STAGE", stage).replace("KEY", key).replace("VALUE", value)
    with pytest.raises(ConfigError, match=rf"stages\[0\]\.{key}: .* is out of range \(must be .*{limit}"):
        load_config(None, [override])


@pytest.mark.parametrize("key, value", [("engine.cpu.intra_op_threads", "99999"),
                                        ("engine.cpu.inter_op_threads", "-1"),
                                        ("engine.warmup_runs", "999999999")])
def test_engine_threads_and_warmup_are_bounded(key, value):
    with pytest.raises(ConfigError, match=rf"{re.escape(key)}: {value} is out of range"):
        load_config(None, [f"{key}={value}"])
