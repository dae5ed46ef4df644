"""`perceive doctor` finds real problems, names them and says how to fix them."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.daemon.daemon_harness import ROOT, daemon_section, imu_pipeline


def doctor(config, *extra) -> tuple[int, list[dict]]:
    result = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "doctor", "--config", str(config),
                             "--json", *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


def test_doctor_passes_a_runnable_config(tmp_path):
    config = tmp_path / "ok.toml"
    config.write_text(daemon_section(tmp_path) + imu_pipeline())
    code, findings = doctor(config)
    assert code == 0, findings
    assert not [f for f in findings if f["level"] == "fail"]
    models = [f for f in findings if f["check"] == "models"]
    assert models and "har.onnx" in models[0]["message"] and "on cpu" in models[0]["message"]
    assert {f["check"] for f in findings} >= {"config", "providers", "models", "disk"}


def test_doctor_names_each_problem_with_a_fix(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(daemon_section(tmp_path) + imu_pipeline().replace(
        'type = "activity"', 'type = "activity"\nmodel = "no_such_model"') + """
[[pipelines]]
name = "door"
[pipelines.source]
type = "video"
uri = "/dev/video97"
[[pipelines.stages]]
type = "delay"
""")
    code, findings = doctor(config, "--set", "engine.providers=['tensorrt','cpu']", "--set", "engine.strict=true")
    assert code == 1
    failed = {f["check"]: f for f in findings if f["level"] == "fail"}
    assert "/dev/video97 does not exist" in failed["camera"]["message"] and failed["camera"]["fix"]
    assert "no_such_model" in failed["models"]["message"] and "models.dirs" in failed["models"]["fix"]
    assert "tensorrt" in failed["providers"]["message"] and "install-jetson.sh" in failed["providers"]["fix"]


def test_doctor_reports_an_invalid_config(tmp_path):
    config = tmp_path / "typo.toml"
    config.write_text("[daemon.events]\nmod = '0660'\n")
    code, findings = doctor(config)
    assert code == 1 and findings[0]["check"] == "config" and "unknown key 'mod'" in findings[0]["message"]
