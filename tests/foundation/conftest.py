import pytest

from tests.foundation.models import tiny_conv


@pytest.fixture
def model_path(tmp_path):
    return tiny_conv(tmp_path / "tiny.onnx")
