"""`perceive ocr IMAGE...`: read printed text in images."""
from __future__ import annotations

import json
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
    p.set_defaults(func=run)


def draw(image, result):
    import cv2
    import numpy as np
    out = image.copy()
    for line in result.lines:
        box = np.array(line.box, np.int32)
        cv2.polylines(out, [box], True, (0, 200, 0), 2)
        cv2.putText(out, line.text, (int(box[0][0]), max(12, int(box[0][1]) - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (0, 0, 255), 1, cv2.LINE_AA)
    return out


def run(args) -> int:
    import cv2
    from pipeline.engine import CpuOptions, Engine, EngineConfig
    from pipeline.ocr.reader import OcrReader
    from pipeline.preprocess.image import ImageFileError, read_image
    from pipeline.runtime.stage import resolve_model

    config = EngineConfig(cpu=CpuOptions(intra_op_threads=args.threads))
    reader = OcrReader(Engine(resolve_model(args.detector, []), config), Engine(resolve_model(args.recogniser, []), config))
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
            cv2.imwrite(args.draw, draw(image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), result))
    return 2 if failed else 0
