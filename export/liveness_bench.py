"""Liveness figures on real people and synthesised attacks, split by person: `python -m export.liveness_bench`.

Attempts (frames at 15 fps, ATTEMPT_FRAMES of them: about 1 s of camera):
- live: a real clip of the person (signers of intel_sample_videos), zoomed to unlock distance,
  from two start offsets and mirrored;
- print: a still (or a clip frame) printed and moved by hand as a plane (two seeds);
- replay_still: a still shown on a hand-held screen (two seeds);
- replay_clip: the person's real clip replayed on a hand-held screen.
Each attempt's frames run once through the shipped detector, passive models and motion tracker; the
window decisions (passive only, motion only, both) are replayed from those records with the same
functions the runtime uses (pipeline.skills.face.liveness_motion.window_verdict), so thresholds can be swept
on the TUNE persons and then measured once on the HELD-OUT persons (export/liveness_data.py).
APCER = attacks whose liveness passed at some window; BPCER = live attempts whose liveness never passed.
The runtime decision is "combined_3d": passive score AND motion showing depth (not merely not planar).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from export.liveness_attacks import print_attack, replay_attack, zoom_on
from export.liveness_data import CLIPS, HELD_OUT, STILLS, TUNE, read_clip, read_still
from pipeline.skills.face.liveness_check import DEFAULT_PASSIVE_THRESHOLD
from pipeline.skills.face.liveness_motion import DEPTH, FROZEN, PLANAR, MotionParams, MotionTracker, window_verdict

ATTEMPT_FRAMES = 16
CLIP_STEP = 2            # 30 fps clips -> 15 fps
K, N = 3, 5
PASSIVE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Attempt:
    person: str
    kind: str                      # live, print, replay_still, replay_clip
    source: str
    frames: list = field(repr=False, default_factory=list)


@dataclass
class Record:
    faces: int
    passive: float | None
    pair: object | None            # PairMotion of this frame against the previous one
    embedding: np.ndarray | None


def smallest_face(detector, frames):
    """The signer's face: the smallest detection (hands and body parts give larger false boxes)."""
    for f in frames[:10]:
        faces = detector.detect(f)
        if faces:
            return min(faces, key=lambda x: x.size).box
    return None


def attempts_for(persons: set[str], detector, seed: int = 0) -> Iterator[Attempt]:
    """Attempts one at a time (a clip of 24 frames is 22 MB: they are not all kept)."""
    rng = np.random.default_rng(seed)
    for rel, person in STILLS.items():
        if person not in persons:
            continue
        img = read_still(rel)
        faces = detector.detect(img)
        if not faces:
            continue
        box = max(faces, key=lambda f: f.size).box
        for s in range(2):
            yield Attempt(person, "print", f"{rel}#{s}", print_attack(img, box, ATTEMPT_FRAMES, rng))
            yield Attempt(person, "replay_still", f"{rel}#{s}", replay_attack([img], box, ATTEMPT_FRAMES, rng))
    for rel, person in CLIPS.items():
        if person not in persons:
            continue
        clip = read_clip(rel)
        box = smallest_face(detector, clip)
        if box is None:
            continue
        zoomed = zoom_on(clip, box)
        for start in (0, len(clip) // 4):
            frames = zoomed[start::CLIP_STEP][:ATTEMPT_FRAMES]
            yield Attempt(person, "live", f"{rel}@{start}", frames)
            yield Attempt(person, "live", f"{rel}@{start}/mirror", [f[:, ::-1].copy() for f in frames])
        yield Attempt(person, "print", f"{rel}#frame0", print_attack(clip[0], box, ATTEMPT_FRAMES, rng))
        yield Attempt(person, "replay_clip", rel, replay_attack(clip[::CLIP_STEP][:ATTEMPT_FRAMES], box,
                                                                ATTEMPT_FRAMES, rng))


def record(attempt: Attempt, detector, embedder, passive) -> list[Record]:
    tracker = MotionTracker(N, MotionParams())
    out = []
    for frame in attempt.frames:
        faces = detector.detect(frame)
        if len(faces) != 1:
            tracker.update(frame, None)
            out.append(Record(len(faces), None, None, None))
            continue
        pair = tracker.update(frame, faces[0].box)
        out.append(Record(1, float(passive.scores(frame, faces)[0]), pair, embedder.embed(frame, faces)[0]))
    return out


def liveness_passes(records: list[Record], mode: str, threshold: float) -> bool:
    """Whether some window passes, replaying LivenessChecker's rules (reset when the face is lost)."""
    scores, pairs = [], []
    for r in records:
        if r.faces != 1:
            scores, pairs = [], []
            continue
        scores = (scores + [r.passive])[-N:]
        if r.pair is not None:
            pairs = (pairs + [r.pair])[-N:]
        verdict = window_verdict(pairs).kind
        motion_ok = verdict == DEPTH if mode.endswith("_3d") else verdict not in (FROZEN, PLANAR)
        passive_ok = len(scores) >= K and np.mean(scores) >= threshold
        enough = len(scores) >= K
        needs = {"passive": passive_ok, "motion": motion_ok, "combined": passive_ok and motion_ok,
                 "motion_3d": motion_ok, "combined_3d": passive_ok and motion_ok}[mode]
        if enough and needs:
            return True
    return False


def error_rates(recorded: list[tuple[Attempt, list[Record]]], mode: str, threshold: float) -> dict:
    live = [liveness_passes(r, mode, threshold) for a, r in recorded if a.kind == "live"]
    attacks = {}
    for a, r in recorded:
        if a.kind != "live":
            attacks.setdefault(a.kind, []).append(liveness_passes(r, mode, threshold))
    all_attacks = [x for v in attacks.values() for x in v]
    return {"bpcer": 1 - float(np.mean(live)) if live else None, "live_attempts": len(live),
            "apcer": float(np.mean(all_attacks)) if all_attacks else None, "attacks": len(all_attacks),
            "apcer_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in attacks.items()}}


MODES = ("passive", "motion", "combined", "motion_3d", "combined_3d")   # _3d: motion must show depth


def sweep(recorded, modes=MODES) -> dict:
    return {mode: {f"{t:.2f}": error_rates(recorded, mode, t) for t in PASSIVE_GRID} for mode in modes}


def run_set(persons: set[str], models, seed: int) -> list[tuple[Attempt, list[Record]]]:
    detector, embedder, passive = models
    out = []
    for i, a in enumerate(attempts_for(persons, detector, seed)):
        out.append((a, record(a, detector, embedder, passive)))
        a.frames = []
        print(f"{i + 1} {a.person} {a.kind} {a.source}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threshold", type=float, default=DEFAULT_PASSIVE_THRESHOLD, help="passive threshold to report")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-identity", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default: 1)")
    ap.add_argument("--records", help="pickle of the per-frame records: written after a run, read instead of "
                                      "running when it exists (to sweep thresholds without recomputing)")
    args = ap.parse_args()
    from pipeline.skills.face.liveness import load_passive
    from pipeline.skills.face.models import load_face_models
    from pipeline.engine import CpuOptions, EngineConfig
    config = EngineConfig(cpu=CpuOptions(intra_op_threads=args.threads))
    detector, embedder = load_face_models(config, min_face=60)
    models = (detector, embedder, load_passive(config))
    if args.records and Path(args.records).is_file():
        tune, held = pickle.loads(Path(args.records).read_bytes())
    else:
        tune, held = run_set(TUNE, models, seed=0), run_set(HELD_OUT, models, seed=1)
        if args.records:
            Path(args.records).write_bytes(pickle.dumps((tune, held)))
    result = {"split": {"tune": sorted(TUNE), "held_out": sorted(HELD_OUT)},
              "tune_sweep": sweep(tune),
              "held_out": {mode: error_rates(held, mode, args.threshold) for mode in MODES},
              "held_out_threshold": args.threshold}
    if not args.skip_identity:
        from export.liveness_identity import identity_study
        result["identity"] = identity_study(models)
    if not args.skip_latency:
        from export.liveness_latency import latency
        result["latency"] = latency(*models)
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
