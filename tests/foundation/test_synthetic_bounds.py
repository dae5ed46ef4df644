"""Synthetic sources refuse settings they cannot run at config load time, naming the key and range.

Before: `width = 100000` was a 27.9 GiB allocation traceback and `fps = 1e-300` an OverflowError
traceback from the pacing clock, both only once the pipeline started."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import get_type_hints

import pytest

from pipeline.config.loader import bounds_text
from pipeline.config.tree import load_config
from pipeline.errors import ConfigError
from pipeline.sources.synthetic import SyntheticAudioConfig, SyntheticSensorConfig, SyntheticVideoConfig

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
CONFIG = """
[[pipelines]]
name = "s"
[pipelines.source]
type = "synthetic_video"
frames = 3
KEY = VALUE
[[pipelines.stages]]
type = "delay"
ms = 1
"""


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("key, value, limit", [("width", "100000", "<= 7680"),
                                               ("fps", "1e-300", ">= 0.01")])
def test_the_commands_name_the_key_and_range(tmp_path, command, key, value, limit):
    path = tmp_path / "synthetic.toml"
    path.write_text(CONFIG.replace("KEY", key).replace("VALUE", value))
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli.main", command, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("perceive: error:")]
    assert len(errors) == 1, proc.stderr
    assert f"pipelines[0].source.{key}: {value} is out of range" in errors[0] and limit in errors[0], errors[0]


SYNTHETIC = {"synthetic_video": "", "synthetic_audio": "", "synthetic_sensor": ', channels=["ax"]'}


@pytest.mark.parametrize("source, key, value", [
    ("synthetic_video", "height", "0"), ("synthetic_video", "frames", "-1"), ("synthetic_video", "fps", "5000"),
    ("synthetic_audio", "tone_hz", "-5"), ("synthetic_audio", "noise", "1e300"),
    ("synthetic_audio", "seconds", "1e300"), ("synthetic_audio", "sample_rate", "0"),
    ("synthetic_audio", "block_ms", "0"), ("synthetic_audio", "buffer_s", "1e9"),
    ("synthetic_sensor", "rate_hz", "1e-300"), ("synthetic_sensor", "samples", "-3"),
    ("synthetic_sensor", "buffer", "99999999999"), ("synthetic_sensor", "block", "0"),
    ("synthetic_sensor", "rate_tolerance", "-1"), ("synthetic_video", "reconnect_initial_s", "0"),
])
def test_out_of_range_options_are_named(source, key, value):
    override = (f'pipelines=[{{name="s", source={{type="{source}", {key}={value}{SYNTHETIC[source]}}}, '
                'stages=[{type="delay", ms=1}]}]')
    with pytest.raises(ConfigError, match=rf"pipelines\[0\]\.source\.{key}: .* is out of range \(must be "):
        load_config(None, [override])


def test_a_sensor_block_larger_than_its_buffer_is_named():
    override = ('pipelines=[{name="s", source={type="synthetic_sensor", channels=["ax"], block=64, buffer=16}, '
                'stages=[{type="delay", ms=1}]}]')
    with pytest.raises(ConfigError, match=re.escape("source.block: 64 is larger than buffer = 16")):
        load_config(None, [override])


@pytest.mark.parametrize("cls", [SyntheticVideoConfig, SyntheticAudioConfig, SyntheticSensorConfig])
def test_every_numeric_synthetic_option_is_bounded(cls):
    hints = get_type_hints(cls)
    numeric = [f for f in dataclasses.fields(cls) if hints[f.name] in (int, float)]
    assert numeric
    assert [f.name for f in numeric if not bounds_text(f)] == []


def test_the_defaults_and_small_settings_still_load():
    override = ('pipelines=[{name="v", source={type="synthetic_video", width=1, height=1, fps=0.01}, '
                'stages=[{type="delay", ms=1}]}]')
    assert load_config(None, [override]).pipelines[0].source.width == 1
