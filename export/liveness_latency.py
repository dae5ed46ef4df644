"""Liveness cost per 640x480 frame, next to detect + align + embed and dlib's pipeline, interleaved in one run."""
from __future__ import annotations

import time

import cv2

from export.liveness_attacks import zoom_on
from export.liveness_data import read_clip
from pipeline.bench.stats import percentiles
from pipeline.engine import runtime_version
from pipeline.skills.face.liveness_motion import MotionTracker
from pipeline.sysinfo import machine

CLIP = "intel_sample_videos/asl_gestures/eat.mkv"
RUNS, WARMUP = 40, 5


def latency(detector, embedder, passive, runs: int = RUNS) -> dict:
    from export.liveness_bench import smallest_face
    clip = read_clip(CLIP)
    frames = zoom_on(clip, smallest_face(detector, clip))[:runs + WARMUP]
    tracker = MotionTracker(5)
    steps = {"detect": lambda f, faces: detector.detect(f), "align_embed": lambda f, faces: embedder.embed(f, faces),
             "passive_2_models": lambda f, faces: passive.scores(f, faces),
             "motion": lambda f, faces: tracker.update(f, faces[0].box if faces else None)}
    try:
        import dlib
        from export.face import dlib_model_path
        hog = dlib.get_frontal_face_detector()
        sp = dlib.shape_predictor(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
        rec = dlib.face_recognition_model_v1(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))

        def dlib_frame(f, faces):
            rgb = cv2.cvtColor(f, cv2.COLOR_BGR2RGB)
            return [rec.compute_face_descriptor(rgb, sp(rgb, r)) for r in hog(rgb, 0)[:1]]
        steps["dlib_hog_5pt_resnet"] = dlib_frame
    except ImportError as exc:
        steps_note = f"dlib not timed: {exc}"
    times = {k: [] for k in steps}
    for i, frame in enumerate(frames):
        faces = detector.detect(frame)
        for name, fn in steps.items():
            start = time.perf_counter()
            fn(frame, faces)
            if i >= WARMUP:
                times[name].append((time.perf_counter() - start) * 1000)
    out = {k: percentiles(v, ("p50_ms", "p90_ms")) for k, v in times.items() if v}
    ours = sum(out[k]["p50_ms"] for k in ("detect", "align_embed", "passive_2_models", "motion"))
    out["liveness_p50_ms"] = out["passive_2_models"]["p50_ms"] + out["motion"]["p50_ms"]
    out["unlock_frame_p50_ms"] = ours
    if "dlib_hog_5pt_resnet" in out:
        out["dlib_over_unlock_frame_p50"] = out["dlib_hog_5pt_resnet"]["p50_ms"] / ours
    else:
        out["note"] = steps_note
    out["protocol"] = {"frames": f"{CLIP} zoomed to 640x480", "runs": len(frames) - WARMUP, "warmup": WARMUP,
                       "interleaved": True, "threads": "engine default", "onnxruntime": runtime_version(),
                       "machine": machine()}
    return out
