import dataclasses

import pytest

from pipeline.config.loader import describe
from pipeline.config.tree import Config, apply_override, load_config, parse_value
from pipeline.errors import ConfigError
from pipeline.runtime.stage import STAGES
from pipeline.sources.base import SOURCES

GOOD = """
[engine]
providers = ["cpu"]
[engine.cpu]
intra_op_threads = 1

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


def write(tmp_path, text):
    path = tmp_path / "perceive.toml"
    path.write_text(text)
    return path


def test_good_config_builds_typed_tree(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    pipeline = config.pipelines[0]
    assert pipeline.source.fps == 15.0 and type(pipeline.source).__name__ == "SyntheticVideoConfig"
    assert pipeline.stages[0].ms == 5.0 and config.engine.cpu.intra_op_threads == 1


def test_malformed_toml_names_file_and_line(tmp_path):
    path = write(tmp_path, "[engine\nproviders = 1\n")
    with pytest.raises(ConfigError, match=r"perceive.toml: malformed TOML.*line 1"):
        load_config(path)


def test_unknown_key_is_named_with_its_file(tmp_path):
    path = write(tmp_path, GOOD.replace("fps = 15", "fps = 15\nfsp = 3"))
    with pytest.raises(ConfigError, match=r"perceive.toml: pipelines\[0\].source: unknown key 'fsp'"):
        load_config(path)


def test_wrong_type_says_what_was_expected(tmp_path):
    path = write(tmp_path, GOOD.replace("budget_ms = 80", 'budget_ms = "fast"'))
    with pytest.raises(ConfigError, match=r"pipelines\[0\].budget_ms: expected a number, got 'fast'"):
        load_config(path)


def test_bool_is_not_an_int(tmp_path):
    path = write(tmp_path, GOOD.replace("intra_op_threads = 1", "intra_op_threads = true"))
    with pytest.raises(ConfigError, match="engine.cpu.intra_op_threads: expected an integer"):
        load_config(path)


def test_unknown_source_type_lists_known_types(tmp_path):
    path = write(tmp_path, GOOD.replace('type = "synthetic_video"', 'type = "webcam"'))
    with pytest.raises(ConfigError, match=r"unknown source type 'webcam' \(known: .*video"):
        load_config(path)


def test_unknown_provider_and_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match="unknown provider 'gpu'"):
        load_config(None, ['engine.providers=["gpu"]'])
    path = write(tmp_path, GOOD.replace('name = "cam"\n', ""))
    with pytest.raises(ConfigError, match=r"pipelines\[0\].name: missing required key"):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/perceive.toml")


def test_overrides_reach_nested_keys_and_list_items(tmp_path):
    config = load_config(write(tmp_path, GOOD), ["pipelines.0.budget_ms=40", "engine.strict=true",
                                                 "pipelines.0.source.fps=5"])
    assert config.pipelines[0].budget_ms == 40.0 and config.engine.strict is True
    assert config.pipelines[0].source.fps == 5.0
    with pytest.raises(ConfigError, match="not an index"):
        load_config(write(tmp_path, GOOD), ["pipelines.3.budget_ms=1"])
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_override({}, "engine.strict")


def test_parse_value_keeps_bare_words_as_strings():
    assert parse_value("3") == 3 and parse_value("[1, 2]") == [1, 2] and parse_value("cuda") == "cuda"


def test_duplicate_pipeline_names_rejected():
    with pytest.raises(ConfigError, match="duplicate name 'a'"):
        load_config(None, ['pipelines=[{name="a", source={type="synthetic_video"}}, '
                           '{name="a", source={type="synthetic_video"}}]'])


def _all_config_classes():
    classes = [Config] + [cfg for cfg, _ in SOURCES.entries.values()] + [cfg for cfg, _ in STAGES.entries.values()]
    return classes


@pytest.mark.parametrize("cls", _all_config_classes(), ids=lambda c: c.__name__)
def test_every_config_field_is_documented(cls):
    undocumented = [key for key, _, _, doc in describe(cls) if not doc.strip()]
    assert not undocumented, f"{cls.__name__}: fields without a description: {undocumented}"
    assert dataclasses.is_dataclass(cls)


def test_example_config_in_deploy_is_valid():
    config = load_config("deploy/perceive.example.toml")
    assert config.pipelines, "the example config should show at least one pipeline"
