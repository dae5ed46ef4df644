"""The converted networks against their sources: dlib itself, and the shipped ONNX files."""
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.torch


def test_resnet_matches_dlib_on_real_chips(faces):
    import dlib  # dlib-bin, in the dev extra
    from export.face import dlib_model_path
    from training.face.dlib_format import read_resnet
    from training.face.resnet import INPUT_SCALE, load_dlib
    torch.set_num_threads(1)
    weights = read_resnet(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    net = load_dlib(weights)
    rec = dlib.face_recognition_model_v1(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    sp = dlib.shape_predictor(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    hog = dlib.get_frontal_face_detector()
    for name in ("astronaut", "grace_hopper"):
        rgb = faces[name]
        chip = dlib.get_face_chip(rgb, sp(rgb, hog(rgb, 1)[0]), size=150, padding=0.25)
        ref = np.array(rec.compute_face_descriptor(chip))
        x = (chip.astype(np.float32) - np.array(weights["mean"], np.float32)) / INPUT_SCALE
        with torch.no_grad():
            ours = net(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).numpy()[0]
        assert ref @ ours / np.linalg.norm(ref) / np.linalg.norm(ours) >= 0.999


def test_mtcnn_onnx_files_match_the_converted_torch_nets():
    from export.face import facenet_state_dicts
    from pipeline.engine import Engine
    from pipeline.runtime.stage import SHIPPED_MODELS
    from training.face.mtcnn import load_state_dicts
    nets = load_state_dicts(facenet_state_dicts())
    rng = np.random.default_rng(0)
    for net, name, shape in zip(nets, ("face_pnet", "face_rnet", "face_onet"),
                                [(1, 3, 60, 84), (3, 3, 24, 24), (3, 3, 48, 48)]):
        x = rng.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            want = [t.numpy() for t in net(torch.from_numpy(x))]
        got = Engine(SHIPPED_MODELS / f"{name}.onnx").run({"image": x})
        for w, g in zip(want, got.values()):
            np.testing.assert_allclose(g, w, atol=1e-4)


def test_int8_embedding_stays_close_to_its_contract_figures():
    from pipeline.engine import Engine
    from pipeline.runtime.stage import SHIPPED_MODELS
    c = Engine(SHIPPED_MODELS / "face_embed.onnx").contract
    assert c.quantization.scheme == "int8-static-qdq"
    assert c.metrics["int8_vs_fp32_cosine"]["min"] >= 0.99
    assert c.metrics["dlib_parity"]["min_cosine"] >= 0.999
