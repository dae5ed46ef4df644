"""`perceive unlock`: exit 0 when an enrolled face matches within the timeout, 1 when none does, 2 on error."""
from __future__ import annotations

import sys

WARNING = ("perceive unlock has no liveness check: a photo or a screen showing an enrolled face can unlock it. "
           "Do not use it as the only factor.")


def register(sub) -> None:
    p = sub.add_parser("unlock", help="unlock with an enrolled face (exit 0 match, 1 no match, 2 error)",
                       description="Watch the camera (or a video) until an enrolled face matches in k of the last "
                                   "n frames, or the timeout passes. Exit code 0: matched, 1: no match, 2: error "
                                   "(no camera, no enrolment, bad model). For PAM, see README 'Face unlock'. "
                                   + WARNING)
    from pipeline.cli.face_common import add_input_arguments
    add_input_arguments(p)
    p.add_argument("--user", help="only this enrolled person may unlock")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds before giving up (default: 5)")
    p.add_argument("--threshold", type=float, help="cosine similarity needed (default: the documented one)")
    p.add_argument("-k", type=int, default=3, help="matching frames needed (default: 3) ...")
    p.add_argument("-n", type=int, default=5, help="... among the last n frames (default: 5)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.cli.face_common import video_frames
    from pipeline.errors import PerceiveError
    from pipeline.face.models import load_face_models
    from pipeline.face.store import TemplateStore, default_store_path
    from pipeline.face.verify import DEFAULT_THRESHOLD, Verifier

    detector, embedder = load_face_models(min_face=args.min_face)
    store = TemplateStore(args.store or default_store_path(), embedder.engine.contract.name)
    if not store.names() or (args.user and args.user not in store.names()):
        raise PerceiveError(f"nobody to unlock: {args.user or 'no one'} is enrolled in {store.path} "
                            "(perceive enroll NAME)")
    verifier = Verifier(store.templates(), args.threshold or DEFAULT_THRESHOLD, args.k, args.n, args.user)
    for label, frame in video_frames(args.camera, args.video, args.timeout):
        match, unlocked = verifier.update(embedder.embed(frame, detector.detect(frame)))
        if unlocked:
            print(f"unlocked: {unlocked} (similarity {match.similarity:.3f}, {label})")
            return 0
    print("no enrolled face matched", file=sys.stderr)
    return 1
