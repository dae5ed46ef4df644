"""`perceive ocr IMAGE...`: read printed text in images."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict


def register(sub) -> None:
    p = sub.add_parser("ocr", help="read printed text in images",
                       description="Detect text lines, rectify and recognise them, and print the lines in "
                                   "reading order with their confidence. A file that cannot be read is "
                                   "reported and skipped; the exit code is 2 if any file failed.")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    p.add_argument("--json", action="store_true", help="one JSON object per image with boxes and timings")
    p.add_argument("--draw", metavar="OUT.png", help="write the (first) image with boxes and text drawn on it")
    p.add_argument("--detector", default="ocr_det", help="detector model name or path")
    p.add_argument("--recogniser", default="ocr_rec", help="recogniser model name or path")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    p.add_argument("--min-confidence", type=float, default=None, metavar="C",
                   help="drop lines whose mean character confidence is below C (default: the value tuned "
                        "on real photos, pipeline.skills.ocr.reader.MIN_LINE_CONFIDENCE; 0 keeps every line)")
    p.set_defaults(func=run)


LABEL_FONT_SCALE = 0.5    # at 640 pixels of image width; labels scale with the image
LABEL_PAD = 2


# Picture formats --draw offers, if this OpenCV build writes them (checked with cv2.haveImageWriter).
DRAW_FORMATS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".jp2", ".avif")


def writable_formats() -> list[str]:
    import cv2
    found = []
    for ext in DRAW_FORMATS:
        try:
            if cv2.haveImageWriter(f"x{ext}"):
                found.append(ext)
        except cv2.error:  # a codec compiled in but disabled
            pass
    return found


def check_draw_path(path: str) -> None:
    """Refuse an --draw file that cannot be written before any image is read (nothing lost)."""
    from pathlib import Path

    from pipeline.errors import InputError
    out = Path(path)
    folder = out.parent
    if not folder.is_dir():
        raise InputError(f"--draw {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"--draw {path}: folder {folder} is not writable")
    formats = writable_formats()
    if out.suffix.lower() not in formats:
        raise InputError(f"--draw {path}: cannot write a picture named {out.name!r}; "
                         f"end the name with one of {' '.join(formats)}")


def write_drawing(path: str, picture) -> None:
    import cv2

    from pipeline.errors import InputError
    try:
        written = cv2.imwrite(path, picture)
    except cv2.error as exc:
        raise InputError(f"--draw {path}: OpenCV cannot write it: {str(exc).strip().splitlines()[-1]}") from None
    if not written:
        raise InputError(f"--draw {path}: OpenCV could not write the file (disk full or not writable?)")


def draw(image, result):
    """Boxes, and each line's text on a filled label above its box (below when the top is taken or
    off the image), kept inside the image and clear of the other boxes' labels."""
    import cv2
    import numpy as np
    out = image.copy()
    scale = LABEL_FONT_SCALE * max(1.0, out.shape[1] / 640)
    thickness = max(1, int(round(scale * 2)))
    for line in result.lines:
        cv2.polylines(out, [np.array(line.box, np.int32)], True, (0, 200, 0), thickness)
    for line, (x, y, lw, lh) in zip(result.lines, label_rects(result.lines, out.shape, scale, thickness)):
        th = cv2.getTextSize(line.text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][1]
        cv2.rectangle(out, (x, y), (x + lw, y + lh), (255, 255, 255), -1)
        cv2.putText(out, line.text, (x + LABEL_PAD, y + LABEL_PAD + th), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 200), thickness, cv2.LINE_AA)
    return out


def label_rects(lines, shape, scale: float, thickness: int) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of each line's label: above its box, else below it or further down,
    the first place inside the image that no earlier label takes."""
    import cv2
    import numpy as np
    h, w = shape[:2]
    taken = []
    for line in lines:
        (tw, th), base = cv2.getTextSize(line.text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        lw, lh = min(tw + 2 * LABEL_PAD, w), th + base + 2 * LABEL_PAD
        box = np.array(line.box, np.float32)
        x = int(np.clip(box[:, 0].min(), 0, max(0, w - lw)))
        top, bottom = int(box[:, 1].min()), int(box[:, 1].max())
        candidates = [top - lh, bottom] + [bottom + k * lh for k in range(1, 4)] + [top - k * lh for k in range(2, 5)]
        y = next((c for c in candidates if 0 <= c <= h - lh and not _overlaps((x, c, lw, lh), taken)),
                 int(np.clip(top - lh, 0, max(0, h - lh))))
        taken.append((x, y, lw, lh))
    return taken


def _overlaps(a, others) -> bool:
    ax, ay, aw, ah = a
    return any(ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah for bx, by, bw, bh in others)


def run(args) -> int:
    import cv2
    from pipeline.engine import CpuOptions, Engine, EngineConfig
    from pipeline.skills.ocr.reader import OcrReader
    from pipeline.preprocess.image import ImageFileError, read_image
    from pipeline.runtime.stage import resolve_model

    if args.draw:
        check_draw_path(args.draw)
    config = EngineConfig(cpu=CpuOptions(intra_op_threads=args.threads))
    from pipeline.skills.ocr.reader import MIN_LINE_CONFIDENCE, STILL_LONG_SIDE
    floor = MIN_LINE_CONFIDENCE if args.min_confidence is None else args.min_confidence
    if not 0.0 <= floor <= 1.0:
        from pipeline.errors import ConfigError
        raise ConfigError(f"--min-confidence must be between 0 and 1, got {floor}")
    reader = OcrReader(Engine(resolve_model(args.detector, []), config), Engine(resolve_model(args.recogniser, []), config),
                       min_confidence=floor, long_side=STILL_LONG_SIDE)
    failed = 0
    for i, path in enumerate(args.images):
        try:
            image = read_image(path, cv2.IMREAD_UNCHANGED)  # bounded: MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
        except ImageFileError as exc:
            print(f"perceive ocr: {exc}", file=sys.stderr)
            failed += 1
            continue
        if image.dtype != "uint8":  # 16-bit PNGs and the like
            image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
        result = reader.read(image)
        if args.json:
            print(json.dumps({"image": path, **asdict(result)}))
        else:
            print(f"== {path} ({len(result.lines)} lines, {result.elapsed_ms:.1f} ms)")
            for line in result.lines:
                print(f"{line.confidence:5.2f}  {line.text}")
        if args.draw and i == 0:
            write_drawing(args.draw, draw(image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), result))
    return 2 if failed else 0
