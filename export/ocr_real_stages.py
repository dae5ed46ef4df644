"""Where perceive's real-photo word recall is lost: detector or recogniser, by swapping stages with RapidOCR.

    PYTHONPATH=.:/path/to/rapidocr python -m export.ocr_real_stages [--part tune] [--models DIR] [--out OUT.json]

On the TUNE photos of export/ocr_real.py (never the held-out ones unless asked), word recall of:
perceive end to end; RapidOCR's boxes read by perceive's recogniser (is the recogniser the limit?);
perceive's boxes read by RapidOCR's recogniser (is the detector the limit?); RapidOCR end to end.
RapidOCR is a measuring tool here, never a runtime dependency. No confidence floor is applied.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from export import ocr_real
from pipeline.skills.ocr.ctc import trim_edges
from pipeline.skills.ocr.prior import fix_line
from pipeline.skills.ocr.reader import CROP_MARGIN, STILL_LONG_SIDE, rectify, widen

PORTRAIT = 1.5      # a RapidOCR box this much taller than wide holds vertical text: read it turned


def read_boxes_with_perceive(reader, image: np.ndarray, quads: list) -> list[str]:
    crops = [c for c in (rectify(image, widen(np.float32(q), CROP_MARGIN)) for q in quads) if c.size]
    return [fix_line(trim_edges(d)).text for d in (reader.recognise(crops) if crops else [])]


def read_boxes_with_rapidocr(rapid, image: np.ndarray, quads: list) -> list[str]:
    out = []
    for quad in quads:
        crop = rectify(image, np.float32(quad))
        if crop.size:
            crop = np.rot90(crop) if crop.shape[0] > PORTRAIT * crop.shape[1] else crop
            result = rapid(crop, use_det=False, use_cls=False)[0]
            out += [result[0][0]] if result else []
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="tune", choices=("tune", "held_out"))
    ap.add_argument("--models", help="folder with ocr_det.onnx and ocr_rec.onnx (default: the shipped ones)")
    ap.add_argument("--out", help="write every photo's lines per variant to this JSON file")
    args = ap.parse_args()
    if args.models:
        ocr_real.SHIPPED_MODELS = Path(args.models)
    from rapidocr_onnxruntime import RapidOCR
    rapid = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    reader = ocr_real.perceive_engine(min_confidence=0.0, long_side=STILL_LONG_SIDE)
    truth, _, split = ocr_real.photos()
    totals: dict[str, list[int]] = {}
    lines = {}
    for name, true_lines in truth.items():
        if split[name] != args.part:
            continue
        image = cv2.imread(str(ocr_real.SCENES / "text" / name))
        ours = reader.read(image).lines
        theirs = rapid(image)[0] or []
        lines[name] = {
            "perceive": [line.text for line in ours],
            "rapidocr_boxes+perceive_recogniser": read_boxes_with_perceive(reader, image, [r[0] for r in theirs]),
            "perceive_boxes+rapidocr_recogniser": read_boxes_with_rapidocr(rapid, image, [line.box for line in ours]),
            "rapidocr": [r[1] for r in theirs]}
        for variant, texts in lines[name].items():
            read, total = ocr_real.words_read(true_lines, texts)
            totals.setdefault(variant, [0, 0])
            totals[variant] = [totals[variant][0] + read, totals[variant][1] + total]
    report = {v: {"words_read": r, "words": t, "word_recall": round(r / max(t, 1), 3)} for v, (r, t) in totals.items()}
    if args.out:
        Path(args.out).write_text(json.dumps(lines, indent=1, ensure_ascii=False))
    print(json.dumps({"part": args.part, **report}, indent=2))


if __name__ == "__main__":
    main()
