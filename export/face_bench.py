"""Face figures, measured on the real faces available offline: `python -m export.face_bench`.

- detector recall on those faces at the configured minimum size;
- genuine / impostor cosine similarities and the FAR / FRR of the unlock threshold;
- agreement of our whole pipeline (MTCNN + our alignment + our embedding) with dlib's;
- one face at 640x480, detect + align + embed, p50 with our int8 models next to dlib's own
  pipeline (HOG detector + 5-point shape + ResNet), interleaved in one run.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time

import cv2
import numpy as np

from pipeline.bench.stats import percentiles
from pipeline.cli.bench import MAX_RUNS
from pipeline.cli.demo import MAX_FACE_PIXELS, MIN_FACE_PIXELS
from pipeline.cli.run import int_between
from pipeline.engine import MAX_THREADS, CpuOptions, EngineConfig, runtime_version
from pipeline.skills.face.models import load_face_models
from pipeline.skills.face.verify import DEFAULT_THRESHOLD, QualityGates
from pipeline.sysinfo import machine
from training.face.faces import real_faces, variants

FRAME = (480, 640)
THRESHOLD_GRID = (0.90, 0.92, 0.94, 0.95, 0.96, 0.965, 0.97)


def embed_one(detector, embedder, rgb: np.ndarray):
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    faces = detector.detect(bgr)
    return (embedder.embed(bgr, faces[:1])[0], faces) if len(faces) == 1 else (None, faces)


def similarity_study(detector, embedder, faces: dict) -> dict:
    rng = np.random.default_rng(0)
    base, genuine = {}, []
    for name, rgb in faces.items():
        e, _ = embed_one(detector, embedder, rgb)
        if e is None:
            continue
        base[name] = e
        genuine += [float(e @ v) for v in (embed_one(detector, embedder, x)[0] for x in variants(rgb, rng))
                    if v is not None]
    impostor = [float(base[a] @ base[b]) for a, b in itertools.combinations(sorted(base), 2)]
    g, i = np.array(genuine), np.array(impostor)
    return {"genuine_pairs": len(g), "impostor_pairs": len(i),
            "genuine": {"min": float(g.min()), "p05": float(np.percentile(g, 5)), "median": float(np.median(g))},
            "impostor": {"max": float(i.max()), "p99": float(np.percentile(i, 99)), "median": float(np.median(i))},
            "operating_points": {f"{t:.3f}": {"far": float((i >= t).mean()), "frr_single_frame": float((g < t).mean())}
                                 for t in THRESHOLD_GRID},
            "default_threshold": DEFAULT_THRESHOLD}


def place(rgb: np.ndarray) -> np.ndarray:
    """The photo scaled onto a 640x480 frame (face about a third of the frame height)."""
    frame = np.full(FRAME + (3,), 90, np.uint8)
    s = min(FRAME[0] / rgb.shape[0], FRAME[1] / rgb.shape[1]) * 0.9
    img = cv2.resize(rgb, None, fx=s, fy=s)
    y, x = (FRAME[0] - img.shape[0]) // 2, (FRAME[1] - img.shape[1]) // 2
    frame[y:y + img.shape[0], x:x + img.shape[1]] = img
    return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)


def latency(detector, embedder, faces: dict, runs: int) -> dict:
    import dlib
    from export.face import dlib_model_path
    hog = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    frame = place(faces["astronaut"])
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def ours():
        found = detector.detect(frame)
        return embedder.embed(frame, found[:1])

    def theirs():
        rects = hog(rgb, 0)
        return [rec.compute_face_descriptor(rgb, sp(rgb, r)) for r in rects[:1]]

    times = {"perceive_int8": [], "dlib_hog_resnet": []}
    for _ in range(3):
        ours(), theirs()
    for _ in range(runs):
        for name, fn in (("perceive_int8", ours), ("dlib_hog_resnet", theirs)):
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    out = {k: percentiles(v, ("p50_ms", "p90_ms")) for k, v in times.items()}
    out["ratio_p50"] = out["dlib_hog_resnet"]["p50_ms"] / out["perceive_int8"]["p50_ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-face", type=int_between(MIN_FACE_PIXELS, MAX_FACE_PIXELS), default=QualityGates().min_face,
                    help="as enroll and unlock (default: 80)")
    ap.add_argument("--threads", type=int_between(0, MAX_THREADS), default=2)
    ap.add_argument("--runs", type=int_between(1, MAX_RUNS), default=30)
    args = ap.parse_args()
    config = EngineConfig(cpu=CpuOptions(intra_op_threads=args.threads))
    detector, embedder = load_face_models(config, min_face=args.min_face)
    faces = real_faces()
    found = {n: len(detector.detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))) for n, rgb in faces.items()}
    result = {
        "recall": {"faces": len(faces), "found_exactly_one": sum(v == 1 for v in found.values()),
                   "missed": sorted(n for n, v in found.items() if v == 0),
                   "several": sorted(n for n, v in found.items() if v > 1), "min_face": args.min_face},
        "similarity": similarity_study(detector, embedder, faces),
        "latency_640x480_one_face": latency(detector, embedder, faces, args.runs),
        "protocol": {"threads": args.threads, "runs": args.runs, "warmup": 3, "interleaved": True,
                     "provider": "cpu", "onnxruntime": runtime_version(), "machine": machine()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
