"""`perceive enroll NAME`: store face templates of a person, from a camera or a folder of images."""
from __future__ import annotations

import sys

# Photos are scaled down to this long side before detection: the detector normalises the whole
# frame to float32, so a 50 MP photo took 2.1 GB and 22 s (measured); at 1920 px a face of 4% of
# the photo's long side still reaches the 80 px enrolment minimum.
ENROL_MAX_SIDE = 1920


def register(sub) -> None:
    p = sub.add_parser("enroll", help="enrol a face for unlock (or --list / --remove)",
                       description="Take several good samples of one person (exactly one face, large enough, "
                                   "sharp, looking at the camera) and store their embeddings, atomically and "
                                   "readable by the owner only (0600). Frames that fail a quality gate are "
                                   "skipped and the reason is printed. Commands that change the store at the "
                                   "same time wait for each other, and each keeps its change.")
    p.add_argument("name", nargs="?", help="the person's name")
    from pipeline.cli.face_common import add_input_arguments
    add_input_arguments(p)
    p.add_argument("--images", help="folder of photos of the person instead of a camera")
    p.add_argument("--samples", type=int, default=5, help="good samples to take from a camera (default: 5)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for good camera samples")
    p.add_argument("--list", action="store_true", help="list enrolled people")
    p.add_argument("--remove", metavar="NAME", help="remove an enrolled person")
    p.set_defaults(func=run)


def run(args) -> int:
    from pipeline.cli.face_common import image_paths
    from pipeline.errors import PerceiveError
    from pipeline.skills.face.models import load_face_models
    from pipeline.skills.face.store import StoreError, TemplateStore, default_store_path
    from pipeline.skills.face.store_format import check_name

    if not (args.list or args.remove or args.name):
        raise PerceiveError("give the NAME to enrol (or --list / --remove NAME)")
    if args.name and not (args.list or args.remove):
        check_name(args.name)
    paths = image_paths(args.images) if args.images and not (args.list or args.remove) else None
    detector, embedder = load_face_models(min_face=args.min_face)
    store = TemplateStore(args.store or default_store_path(), embedder.engine.contract.name, dim=embedder.dim)
    if args.list:
        for name in store.names():
            person = store.people[name]
            print(f"{name}: {len(person['templates'])} templates, enrolled {person.get('enrolled_at') or '?'}")
        return 0
    if args.remove:
        if not store.remove(args.remove):
            raise PerceiveError(f"'{args.remove}' is not enrolled (enrolled: {store.names() or 'nobody'})")
        print(f"removed {args.remove}")
        return 0
    embeddings = collect(args, paths, detector, embedder)
    if not embeddings:
        raise PerceiveError(f"no usable sample of {args.name}: nothing was enrolled")
    import numpy as np
    try:
        store.add(args.name, np.stack(embeddings))
    except StoreError as exc:
        raise StoreError(f"{args.name} was not enrolled: {exc}") from None
    print(f"enrolled {args.name} with {len(embeddings)} samples in {store.path}")
    return 0


def collect(args, paths, detector, embedder) -> list:
    """Embeddings of the good samples, from the image files or the camera / video; skips are printed."""
    from pipeline.cli.face_common import video_frames
    from pipeline.skills.face.verify import QualityGates, quality_problem
    from pipeline.preprocess.image import ImageFileError, read_image

    gates = QualityGates(min_face=max(args.min_face, QualityGates.min_face))
    embeddings = []

    def take(label, frame) -> None:
        faces = detector.detect(frame)
        problem = quality_problem(frame, faces, gates)
        if problem:
            print(f"  {label}: skipped: {problem}", file=sys.stderr)
            return
        embeddings.append(embedder.embed(frame, faces)[0])
        print(f"  {label}: sample {len(embeddings)} taken")

    if paths is not None:
        for path in paths:
            try:
                take(path.name, fit_long_side(read_image(path), ENROL_MAX_SIDE))
            except ImageFileError as exc:
                print(f"  {path.name}: skipped: {exc.reason}", file=sys.stderr)
        return embeddings
    for label, frame in video_frames(args.camera, args.video, args.timeout):
        take(label, frame)
        if len(embeddings) >= args.samples:
            break
    return embeddings


def fit_long_side(image, max_side: int):
    """``image`` scaled down (area interpolation) so that its longer side is at most ``max_side``."""
    import cv2
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
