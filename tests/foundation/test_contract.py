import json

import pytest

from pipeline.contract import CONTRACT_KEY, make_contract, parse_contract
from pipeline.engine import Engine
from pipeline.errors import ContractError
from tests.foundation.models import IMAGE_CONTRACT, tiny_conv


def test_contract_round_trips_through_metadata():
    contract = make_contract(IMAGE_CONTRACT)
    again = parse_contract(contract.to_metadata(), "m.onnx")
    assert again == contract and again.image.mean == [0.5, 0.5, 0.5]


def test_model_without_contract_is_refused(tmp_path):
    path = tiny_conv(tmp_path / "bare.onnx", contract=None)
    with pytest.raises(ContractError, match=r"bare.onnx: no model contract \(metadata key 'perceive.contract'"):
        Engine(path)


def test_contract_that_is_not_json(tmp_path):
    path = tiny_conv(tmp_path / "bad.onnx", contract=None, metadata={CONTRACT_KEY: "{not json"})
    with pytest.raises(ContractError, match="bad.onnx: contract is not valid JSON"):
        Engine(path)


def test_wrong_field_type_is_named():
    data = json.loads(make_contract(IMAGE_CONTRACT).to_metadata()[CONTRACT_KEY])
    data["image"]["height"] = "tall"
    with pytest.raises(ContractError, match=r"m.onnx: invalid contract field image.height: expected an integer"):
        parse_contract({CONTRACT_KEY: json.dumps(data)}, "m.onnx")


def test_unknown_contract_field_and_schema_version():
    data = json.loads(make_contract(IMAGE_CONTRACT).to_metadata()[CONTRACT_KEY])
    with pytest.raises(ContractError, match="unknown key 'colour'"):
        parse_contract({CONTRACT_KEY: json.dumps({**data, "colour": "RGB"})}, "m.onnx")
    with pytest.raises(ContractError, match="schema: version 99 is not supported"):
        parse_contract({CONTRACT_KEY: json.dumps({**data, "schema": 99})}, "m.onnx")


def test_task_requires_its_sections():
    with pytest.raises(ContractError, match="audio: required for task 'kws'"):
        make_contract({**IMAGE_CONTRACT, "task": "kws", "labels": ["yes"]})
    with pytest.raises(ContractError, match="alphabet: required for task 'ocr_rec'"):
        make_contract({**IMAGE_CONTRACT, "task": "ocr_rec"})


def test_contract_must_match_graph(tmp_path):
    wrong_name = {**IMAGE_CONTRACT, "inputs": [{"name": "pixels", "shape": ["batch", 3, 32, 32]}]}
    with pytest.raises(ContractError, match=r"contract inputs \['pixels'\] do not match the graph's \['image'\]"):
        Engine(tiny_conv(tmp_path / "a.onnx", contract=wrong_name))
    wrong_axis = {**IMAGE_CONTRACT, "inputs": [{"name": "image", "shape": ["batch", 3, 64, 32]}]}
    with pytest.raises(ContractError, match="'image' axis 2 is 64, the graph has 32"):
        Engine(tiny_conv(tmp_path / "b.onnx", contract=wrong_axis))


def test_contract_contradicting_config_is_refused():
    contract = make_contract(IMAGE_CONTRACT)
    contract.expect("image.color", "RGB", "stages[0].color")
    with pytest.raises(ContractError, match=r"contract image.height = 32 but config stages\[0\].height = 48"):
        contract.expect("image.height", 48, "stages[0].height")
