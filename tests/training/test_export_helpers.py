"""export/common.py's shared steps: the int8-or-fp32 decision, shipping the chosen file, loading a checkpoint."""
import pytest

from pipeline.errors import InputError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from export.common import int8_pays, load_checkpoint, ship  # noqa: E402


def timed(fp32_p50: float, int8_p50: float) -> dict:
    return {"latency": {"fp32": {"p50_ms": fp32_p50}, "int8": {"p50_ms": int8_p50}}}


def test_int8_ships_only_when_it_keeps_accuracy_and_is_not_slower():
    assert int8_pays(True) and not int8_pays(False)
    assert int8_pays(True, timed(2.0, 2.0)) and int8_pays(True, timed(2.0, 1.0))
    assert not int8_pays(True, timed(2.0, 2.1)) and not int8_pays(False, timed(2.0, 1.0))
    assert int8_pays(True, timed(2.0, 2.1), max_slowdown=1.1)


def files(tmp_path, int8_name="m.int8.onnx"):
    fp32, int8 = tmp_path / "m.fp32.onnx", tmp_path / int8_name
    fp32.write_text("fp32")
    int8.write_text("int8")
    return fp32, int8


@pytest.mark.parametrize("keep_int8, shipped, left", [(True, "int8", {"m.fp32.onnx", "m.onnx"}),
                                                      (False, "fp32", {"m.onnx"})])
def test_ship_puts_the_chosen_file_under_the_shipped_name(tmp_path, keep_int8, shipped, left):
    fp32, int8 = files(tmp_path)
    target = ship(fp32, int8, tmp_path / "m.onnx", keep_int8)
    assert target.read_text() == shipped and {p.name for p in tmp_path.iterdir()} == left


@pytest.mark.parametrize("keep_int8, keep_twin, shipped, left", [
    (True, False, "int8", {"m.onnx"}), (True, True, "int8", {"m.fp32.onnx", "m.onnx"}), (False, True, "fp32", {"m.onnx"})])
def test_ship_when_int8_was_quantized_to_the_shipped_name(tmp_path, keep_int8, keep_twin, shipped, left):
    fp32, int8 = files(tmp_path, "m.onnx")
    target = ship(fp32, int8, int8, keep_int8, keep_twin=keep_twin)
    assert target == int8 and target.read_text() == shipped and {p.name for p in tmp_path.iterdir()} == left


class Trainer:
    """A stand-in trainer module: a Config dataclass and build_model, like training/sensor/anomaly.py."""

    from dataclasses import dataclass

    @dataclass
    class Config:
        width: int = 3

    @staticmethod
    def build_model(cfg):
        return torch.nn.Linear(cfg.width, 2)


def test_load_checkpoint_rebuilds_the_model_from_its_stored_config(tmp_path):
    model = torch.nn.Linear(5, 2)
    torch.save({"config": {"width": 5}, "model": model.state_dict(), "labels": ["a", "b"]}, tmp_path / "c.pt")
    cfg, loaded, ckpt = load_checkpoint(str(tmp_path / "c.pt"), Trainer, "tiny")
    assert cfg.width == 5 and not loaded.training and ckpt["labels"] == ["a", "b"]
    assert torch.equal(loaded.weight, model.weight)
    _, built, _ = load_checkpoint(str(tmp_path / "c.pt"), Trainer, "tiny",
                                  lambda cfg, ckpt: torch.nn.Linear(cfg.width, len(ckpt["labels"])))
    assert torch.equal(built.bias, model.bias)


def test_missing_checkpoint_says_which_command_needs_it():
    with pytest.raises(InputError, match=r"perceive export tiny needs --checkpoint runs/tiny-\*/checkpoint.pt"):
        load_checkpoint(None, Trainer, "tiny")
