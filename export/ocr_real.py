"""perceive's OCR next to RapidOCR (PP-OCRv4) on real photos, in one run: word recall on the
real text photos and false lines on the real text-free photos of ../shared/data/real/scenes.

    pip download --no-deps rapidocr-onnxruntime==1.4.4 pyclipper shapely pyyaml six  # unzip the wheels
    PYTHONPATH=.:/path/to/unzipped python -m export.ocr_real [--sweep] [--save]

--save writes export/results/ocr_real.json and the "Real photos" section of the OCR model cards
(pipeline/models/ocr_det.md, ocr_rec.md; a re-export rewrites the cards: run this again after it).

Truth: export/ocr_real_truth.json (hand transcription, see its "about"). A true word (2 or more
letters/digits once punctuation at its ends is stripped; case, accents and full-width forms
folded) counts as read when an output line holds it as a word; an output word that runs
several consecutive true words together ("BEWAREOF") reads them all, so an engine is not
penalised for a missing space. False lines: lines output on a text-free photo.

Split (the rule, fixed before any tuning): inside each source folder (easyocr, opencv_samples_data,
paddleocr, scikit-image) the photos are sorted by file name, photos of the same object form one
group (box.png + box_in_scene.png, left.jpg + right.jpg: the same box and the same books), and
every second group, starting with the second, is HELD OUT; the others are TUNE. Thresholds are
chosen on TUNE only; HELD-OUT photos are only ever scored.
"""
from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from pipeline.engine import CpuOptions, Engine, EngineConfig, runtime_version
from pipeline.skills.ocr.reader import MIN_LINE_CONFIDENCE, STILL_LONG_SIDE, OcrReader
from pipeline.runtime.stage import SHIPPED_MODELS
from pipeline.sysinfo import machine

REPO = Path(__file__).resolve().parent.parent
SCENES = REPO.parent / "shared" / "data" / "real" / "scenes"
TRUTH = Path(__file__).with_name("ocr_real_truth.json")
SAME_OBJECT = {"opencv_samples_data/box_in_scene.png": "opencv_samples_data/box.png",
               "opencv_samples_data/right.jpg": "opencv_samples_data/left.jpg"}
MIN_WORD_CHARS = 2
THREADS = 1
RESULTS = REPO / "export" / "results" / "ocr_real.json"
CARDS = (REPO / "pipeline" / "models" / "ocr_det.md", REPO / "pipeline" / "models" / "ocr_rec.md")
CARD_SECTION = "## Real photos"
SWEEP_CONFIDENCES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def photo_split(names: list[str]) -> dict[str, str]:
    """name ("folder/file") -> "tune" or "held_out", by the rule in the module docstring."""
    split = {}
    for folder in sorted({n.split("/")[0] for n in names}):
        groups = sorted({SAME_OBJECT.get(n, n) for n in names if n.startswith(folder + "/")})
        for rank, group in enumerate(groups):
            for n in names:
                if SAME_OBJECT.get(n, n) == group:
                    split[n] = "held_out" if rank % 2 else "tune"
    return split


def photos() -> tuple[dict[str, list[str]], list[str], dict[str, str]]:
    """Transcribed text photos, text-free photos, and the split of both."""
    truth = json.loads(TRUTH.read_text())["photos"]
    notext = sorted(str(p.relative_to(SCENES / "notext")) for p in (SCENES / "notext").glob("*/*"))
    split = photo_split(list(truth)) | {f"notext/{n}": s for n, s in photo_split(notext).items()}
    return truth, [f"notext/{n}" for n in notext], split


def normalise(word: str) -> str:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).replace("μ", "u"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"^[^0-9A-Za-z]+|[^0-9A-Za-z]+$", "", folded).upper()


def words(line: str) -> list[str]:
    """Words of a line; anything outside Latin script (CJK, Thai ...) separates words too."""
    folded = "".join(c if ord(c) < 0x250 or unicodedata.category(c)[0] != "L" else " "
                     for c in unicodedata.normalize("NFKC", line))
    return [w for w in (normalise(t) for t in folded.split()) if w]


def words_read(truth_lines: list[str], output_lines: list[str]) -> tuple[int, int]:
    """(true words read, true words) for one photo."""
    pool = Counter(w for line in output_lines for w in words(line))
    read = total = 0
    for line in truth_lines:
        tokens = words(line)
        scored = [sum(c.isalnum() for c in t) >= MIN_WORD_CHARS for t in tokens]
        total += sum(scored)
        i = 0
        while i < len(tokens):
            for j in range(len(tokens), i, -1):   # longest run of true words an output word holds
                run = "".join(tokens[i:j])
                if pool[run] > 0:
                    pool[run] -= 1
                    read += sum(scored[i:j])
                    i = j
                    break
            else:
                i += 1
    return read, total


def perceive_engine(threads: int = THREADS, models: Path | None = None, **options) -> OcrReader:
    """The reader on the shipped pair, or on ``models``' ocr_det.onnx / ocr_rec.onnx where that folder has them."""
    def model(name: str) -> Path:
        return models / name if models is not None and (models / name).is_file() else SHIPPED_MODELS / name
    config = EngineConfig(cpu=CpuOptions(intra_op_threads=threads))
    return OcrReader(Engine(model("ocr_det.onnx"), config), Engine(model("ocr_rec.onnx"), config), **options)


def as_engine(reader: OcrReader):
    return lambda image: [(line.text, line.confidence) for line in reader.read(image).lines]


def run_engines(names: list[str], engines: dict) -> dict:
    """name -> {engine: [(text, confidence), ...], engine + "_ms": ...}, engines interleaved photo by photo."""
    out = {}
    for name in names:
        image = cv2.imread(str(SCENES / ("" if name.startswith("notext/") else "text") / name))
        out[name] = {}
        for engine, read in engines.items():
            start = time.perf_counter()
            out[name][engine] = read(image)
            out[name][engine + "_ms"] = (time.perf_counter() - start) * 1000
    return out


def score(raw: dict, truth: dict, notext: list[str], split: dict, engine: str, min_conf: float = 0.0) -> dict:
    table = {}
    for part in ("tune", "held_out"):
        read = total = 0
        for name, lines in truth.items():
            if split[name] == part:
                r, t = words_read(lines, [text for text, c in raw[name][engine] if c >= min_conf])
                read, total = read + r, total + t
        free = [n for n in notext if split[n] == part]
        false = sum(sum(c >= min_conf for _, c in raw[n][engine]) for n in free)
        table[part] = {"word_recall": round(read / max(total, 1), 3), "words": total,
                       "false_lines_per_textfree_photo": round(false / max(len(free), 1), 3),
                       "text_photos": sum(split[n] == part for n in truth), "textfree_photos": len(free)}
    return table


def rapidocr_engine():
    from rapidocr_onnxruntime import RapidOCR
    rapid = RapidOCR(intra_op_num_threads=THREADS, inter_op_num_threads=1)
    return lambda image: [(r[1], float(r[2])) for r in (rapid(image)[0] or [])]


def background_note(training_data: str) -> str:
    """What the shipped pair's training backgrounds have to do with these photos (from its provenance)."""
    if "scikit-image sample images" in training_data:   # the models trained before real_backgrounds.py
        return ("The scikit-image text-free photos were also backgrounds of the synthetic training scenes "
                "(faded, behind text); the OpenCV ones never were.")
    return ("No photo here was a training background (training/ocr/real_backgrounds.py; "
            "tests/ocr/test_ocr_real_backgrounds.py compares thumbnails).")


def card_section(report: dict, training_data: str) -> str:
    """The real-photo figures as a markdown table, one column per engine."""
    engines = [e for e in ("perceive_stage", "perceive_cli", "rapidocr_ppocrv4") if e in report]
    names = {"perceive_stage": "perceive, video stage (long side 640)", "perceive_cli": "perceive, `perceive ocr` (960)",
             "rapidocr_ppocrv4": "RapidOCR 1.4.4 (PP-OCRv4)"}
    rows = [f"{CARD_SECTION} (the pair as shipped, next to the synthetic figures above; `python -m export.ocr_real --save`)",
            "", "Hand-transcribed real photos (`export/ocr_real_truth.json`), split by a fixed rule into photos the "
            "reader's thresholds were tuned on and held-out ones never used for tuning; one thread; RapidOCR in "
            "the same run. " + background_note(training_data), "", "| figure | " + " | ".join(names[e] for e in engines) + " |",
            "| --- |" + " --- |" * len(engines)]
    for part in ("held_out", "tune"):
        first = report[engines[0]][part]
        rows.append(f"| {part.replace('_', '-')} word recall ({first['words']} words, {first['text_photos']} photos) | "
                    + " | ".join(f"{report[e][part]['word_recall']:.1%}" for e in engines) + " |")
        rows.append(f"| {part.replace('_', '-')} false lines per text-free photo ({first['textfree_photos']} photos) | "
                    + " | ".join(f"{report[e][part]['false_lines_per_textfree_photo']:.2f}" for e in engines) + " |")
    rows.append("| ms per photo, p50 | " + " | ".join(f"{report[e]['ms_per_photo_p50']:.0f}" for e in engines) + " |")
    return "\n".join(rows) + "\n"


def save(report: dict) -> None:
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    data = " ".join(Engine(SHIPPED_MODELS / f"ocr_{part}.onnx").contract.provenance.data for part in ("det", "rec"))
    section = card_section(report, data)
    for card in CARDS:
        text = card.read_text()
        text = text[:text.index(CARD_SECTION)].rstrip("\n") + "\n" if CARD_SECTION in text else text
        card.write_text(text.rstrip("\n") + "\n\n" + section)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-confidence", type=float, default=None,
                    help=f"perceive's line confidence floor (default: the reader's, {MIN_LINE_CONFIDENCE})")
    ap.add_argument("--sweep", action="store_true", help="also score perceive at each of several floors")
    ap.add_argument("--no-rapidocr", action="store_true", help="perceive only")
    ap.add_argument("--candidate", metavar="DIR", type=Path,
                    help="also score a candidate pair (DIR's ocr_det.onnx / ocr_rec.onnx, the shipped one where "
                         "DIR has none) in the same run, as candidate_stage / candidate_cli")
    ap.add_argument("--dump", metavar="OUT.json", help="write every engine's lines per photo")
    ap.add_argument("--save", action="store_true", help="write export/results/ocr_real.json and the model cards' "
                                                         "real-photo section (needs RapidOCR)")
    args = ap.parse_args()
    truth, notext, split = photos()
    frames, stills = perceive_engine(min_confidence=0.0), perceive_engine(min_confidence=0.0, long_side=STILL_LONG_SIDE)
    floor = MIN_LINE_CONFIDENCE if args.min_confidence is None else args.min_confidence
    # perceive reads every line once; its confidence floor is applied when scoring
    engines = {"perceive_stage": as_engine(frames), "perceive_cli": as_engine(stills)}
    if args.candidate:
        engines["candidate_stage"] = as_engine(perceive_engine(models=args.candidate, min_confidence=0.0))
        engines["candidate_cli"] = as_engine(perceive_engine(models=args.candidate, min_confidence=0.0,
                                                             long_side=STILL_LONG_SIDE))
    if not args.no_rapidocr:
        engines["rapidocr_ppocrv4"] = rapidocr_engine()
    raw = run_engines(list(truth) + notext, engines)
    report = {}
    for engine in engines:
        cut = 0.0 if engine.startswith("rapidocr") else floor
        report[engine] = {"min_confidence": cut, **score(raw, truth, notext, split, engine, cut),
                          "ms_per_photo_p50": round(float(np.median([r[engine + "_ms"] for r in raw.values()])), 1)}
    if args.sweep:
        for engine in [e for e in engines if e.endswith("_cli")]:
            report[engine + "_sweep"] = {str(c): score(raw, truth, notext, split, engine, c) for c in SWEEP_CONFIDENCES}
    report["protocol"] = {"threads": THREADS, "onnxruntime": runtime_version(), "machine": machine(),
                          "held_out": sorted(n for n, s in split.items() if s == "held_out")}
    if args.dump:
        Path(args.dump).write_text(json.dumps(raw, indent=1, ensure_ascii=False))
    if args.save and not args.no_rapidocr and not args.candidate:
        save(report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
