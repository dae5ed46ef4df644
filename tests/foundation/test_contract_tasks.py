"""TASK_SECTIONS stays central (pipeline/README.md says why), so a new skill must add its task's line: every
shipped model's task is listed, and the sections listed for it are really in its contract."""
import pytest

from pipeline.contract import TASK_SECTIONS, make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.errors import ContractError
from pipeline.runtime.stage import SHIPPED_MODELS
from tests.foundation.models import IMAGE_CONTRACT

SHIPPED = sorted(SHIPPED_MODELS.glob("*.onnx"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_task_declares_its_sections(path):
    contract = Engine(path, EngineConfig(warmup_runs=0), warmup=False).contract
    assert contract.task in TASK_SECTIONS, f"{contract.task}: add its required sections to TASK_SECTIONS"
    assert all(getattr(contract, section) for section in TASK_SECTIONS[contract.task])


def test_liveness_model_without_labels_is_refused():
    with pytest.raises(ContractError, match="labels: required for task 'face_liveness'"):
        make_contract({**IMAGE_CONTRACT, "task": "face_liveness"})
