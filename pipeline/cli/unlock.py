"""`perceive unlock`: exit 0 when an enrolled, live face matches within the timeout, 1 when none does, 2 on error."""
from __future__ import annotations

import sys

from pipeline.skills.face.liveness_check import DEFAULT_PASSIVE_THRESHOLD
from pipeline.skills.face.verify import DEFAULT_THRESHOLD

NO_LIVENESS_WARNING = ("perceive unlock: WARNING: --no-liveness: the liveness check is OFF. A printed photo, a phone "
                       "or a screen replay showing an enrolled face WILL unlock. Use this for testing only.")
DESCRIPTION = (
    "Watch the camera (or a video) until one enrolled face matches in k of the last n frames AND looks live over "
    "the same window, or the timeout passes. Liveness = passive anti-spoofing (MiniFASNet: photo and screen "
    "texture, mean live score >= {live:.2f}) and motion (a face moving as one flat plane, or a frozen picture, is "
    "refused). Identity: cosine similarity >= {sim:.3f} (FAR/FRR measured on real photos: README 'Face unlock' and "
    "pipeline/models/face_liveness.md). Exit code 0: unlocked, 1: refused (the reason is printed), 2: error (no "
    "camera, no enrolment, bad model). Face unlock is a convenience, not a strong factor: keep a password.")


def register(sub) -> None:
    p = sub.add_parser("unlock", help="unlock with an enrolled live face (exit 0 unlocked, 1 refused, 2 error)",
                       description=DESCRIPTION.format(live=DEFAULT_PASSIVE_THRESHOLD, sim=DEFAULT_THRESHOLD))
    from pipeline.cli.face_common import add_input_arguments
    add_input_arguments(p)
    p.add_argument("--user", help="only this enrolled person may unlock")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds before giving up (default: 5)")
    p.add_argument("--threshold", type=float,
                   help=f"cosine similarity needed (default: {DEFAULT_THRESHOLD}, set on real photos)")
    p.add_argument("-k", type=int, default=3, help="matching live frames needed (default: 3) ...")
    p.add_argument("-n", type=int, default=5, help="... among the last n frames (default: 5)")
    p.add_argument("--no-liveness", action="store_true",
                   help="TESTING ONLY: skip the liveness check; a photo or a screen of an enrolled face unlocks")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.cli.face_common import video_frames
    from pipeline.errors import InputError, PerceiveError
    from pipeline.skills.face.liveness import load_passive
    from pipeline.skills.face.unlock_decision import build_decider, detector_min_face
    from pipeline.skills.face.models import load_face_models
    from pipeline.skills.face.store import TemplateStore, default_store_path

    if args.k < 1 or args.n < args.k:
        raise InputError(f"-k {args.k} -n {args.n}: need 1 <= k <= n")
    detector, embedder = load_face_models(min_face=detector_min_face(args.min_face))
    store = TemplateStore(args.store or default_store_path(), embedder.engine.contract.name, dim=embedder.dim)
    if not store.names() or (args.user and args.user not in store.names()):
        raise PerceiveError(f"nobody to unlock: {args.user or 'no one'} is enrolled in {store.path} "
                            "(perceive enroll NAME)")
    if args.no_liveness:
        print(NO_LIVENESS_WARNING, file=sys.stderr)
    decider = build_decider(store.templates(), args.threshold or DEFAULT_THRESHOLD, args.k, args.n, args.user,
                            args.min_face, None if args.no_liveness else load_passive())
    last = deciding = None
    frames = 0
    for label, frame in video_frames(args.camera, args.video, args.timeout):
        if frame is None:
            continue
        frames += 1
        faces = detector.detect(frame)
        decision = decider.update(frame, faces, embedder.embed(frame, faces))
        if decision.unlocked:
            live = "off" if decision.liveness is None else f"{decision.liveness.score:.2f}"
            print(f"unlocked: {decision.unlocked} (similarity {decision.match.similarity:.3f}, liveness {live}, "
                  f"{label})")
            return 0
        last = decision
        deciding = decision if decision.identity_ok else deciding
    final = deciding or last   # a liveness refusal of a matching face says more than the last frame
    why = final.reason if final else "no frame arrived"
    print(f"refused: {why} (timeout: {args.timeout:g} s, {frames} frames)", file=sys.stderr)
    return 1
