"""perceive's OCR next to Tesseract 5 and RapidOCR (PP-OCRv4) on the same held-out data, in one run.

    apt-get install tesseract-ocr
    pip install --no-deps rapidocr-onnxruntime==1.4.4 pyclipper shapely   # --no-deps: it would
                                                                           # pull opencv-python over opencv-python-headless
    PYTHONPATH=/path/to/rapidocr python -m export.ocr_peers [--lines 300] [--frames 100]

Lines: rendered in font families held out of training (clean, and with camera-like
degradations), cropped as a detector would; every engine reads the same crops, one thread
each. Time per line is wall time over all lines, including each engine's own preprocessing;
Tesseract is run once per line, so its time includes a process start per line.

Whole frames: 640x480 camera-degraded scenes with 1-10 lines in held-out font families
(another seed than the detector's evaluation scenes). perceive and RapidOCR each detect and
read every frame, interleaved frame by frame, with 2 threads; a true line counts as read when
an output line has exactly its text.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from pipeline.bench.stats import percentiles
from pipeline.engine import CpuOptions, Engine, EngineConfig, runtime_version
from pipeline.skills.ocr.ctc import cer, trim_edges
from pipeline.skills.ocr.prior import fix_line
from pipeline.skills.ocr.reader import OcrReader
from pipeline.runtime.stage import SHIPPED_MODELS
from pipeline.sysinfo import machine
from training.ocr.fonts import UNSEEN_FAMILIES, split_fonts, unseen_fonts
from training.ocr.render import render_line
from training.ocr.scenes import make_scene
from training.ocr.text import TextSampler

FRAME_THREADS = 2
FRAME_WARMUP = 3


def held_out_crops(n: int, seed: int, degraded: bool, unseen: bool = False) -> tuple[list[np.ndarray], list[str]]:
    """Lines in the held-out font families, or (unseen) in the second group no model trained on."""
    fonts = unseen_fonts() if unseen else split_fonts()[1]
    sampler, rng = TextSampler(seed), np.random.default_rng(seed)
    texts = [sampler.line() for _ in range(n)]
    return [render_line(t, fonts[rng.integers(len(fonts))], rng, degraded) for t in texts], texts


def perceive_reader(threads: int) -> OcrReader:
    config = EngineConfig(cpu=CpuOptions(intra_op_threads=threads))
    return OcrReader(Engine(SHIPPED_MODELS / "ocr_det.onnx", config), Engine(SHIPPED_MODELS / "ocr_rec.onnx", config))


def rapidocr(threads: int):
    from rapidocr_onnxruntime import RapidOCR
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)


def run_perceive(crops):
    reader = perceive_reader(1)
    reader.recognise(crops[:1])  # warm-up, as for the others
    start = time.perf_counter()
    out = [fix_line(trim_edges(d)).text for d in reader.recognise(crops)]   # as OcrReader.read finishes a line
    return out, time.perf_counter() - start


def run_rapidocr(crops):
    engine = rapidocr(1)
    engine(crops[0], use_det=False, use_cls=False, use_rec=True)  # warm-up
    start = time.perf_counter()
    out = []
    for crop in crops:
        result, _ = engine(crop, use_det=False, use_cls=False, use_rec=True)
        out.append(result[0][0] if result else "")
    return out, time.perf_counter() - start


def run_tesseract(crops):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, crop in enumerate(crops):
            paths.append(os.path.join(tmp, f"{i:05d}.png"))
            cv2.imwrite(paths[-1], crop)
        start = time.perf_counter()
        for path in paths:  # one page per call keeps the line order unambiguous
            subprocess.run(["tesseract", path, path, "--psm", "7", "-l", "eng"], capture_output=True,
                           env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=True)
        elapsed = time.perf_counter() - start
        return [Path(p + ".txt").read_text().strip() for p in paths], elapsed


def held_out_frames(n: int, seed: int):
    _, fonts = split_fonts()
    sampler, rng = TextSampler(seed), np.random.default_rng(seed)
    return [make_scene(sampler, fonts, rng, degraded=True) for _ in range(n)]


def whole_frames(n: int) -> dict:
    frames = held_out_frames(n, 503)
    ours, theirs = perceive_reader(FRAME_THREADS), rapidocr(FRAME_THREADS)
    engines = {"perceive": lambda f: [line.text for line in ours.read(f).lines],
               "rapidocr_ppocrv4": lambda f: [r[1] for r in (theirs(f)[0] or [])]}
    for image, _, _ in frames[:FRAME_WARMUP]:
        for fn in engines.values():
            fn(image)
    times = {name: [] for name in engines}
    read = {name: 0 for name in engines}
    for image, _, truth in frames:
        for name, fn in engines.items():
            start = time.perf_counter()
            texts = fn(image)
            times[name].append((time.perf_counter() - start) * 1000)
            read[name] += sum(min(texts.count(t), truth.count(t)) for t in set(truth))
    lines = sum(len(t) for _, _, t in frames)
    out = {name: {**percentiles(v), "lines_read_exactly": read[name] / lines}
           for name, v in times.items()}
    out["protocol"] = {"frames": n, "lines": lines, "size": "640x480", "threads": FRAME_THREADS,
                       "warmup_frames": FRAME_WARMUP, "interleaved": True}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=300, help="lines per set (clean and degraded)")
    ap.add_argument("--frames", type=int, default=100, help="whole 640x480 frames (0: skip)")
    ap.add_argument("--unseen", action="store_true", help=f"lines in the second held-out group {UNSEEN_FAMILIES} "
                                                          "(default: the families held out of training)")
    args = ap.parse_args()
    engines = {"perceive": run_perceive, "rapidocr_ppocrv4": run_rapidocr, "tesseract5": run_tesseract}
    if shutil.which("tesseract") is None:   # compare the other two rather than fail at the end
        del engines["tesseract5"]
    table = {}
    for name, degraded, seed in (("clean", False, 501), ("degraded", True, 502)):
        crops, truth = held_out_crops(args.lines, seed, degraded, args.unseen)
        for engine, fn in engines.items():
            texts, seconds = fn(crops)
            table.setdefault(engine, {})[name] = {
                "cer": cer(texts, truth), "line_accuracy": float(np.mean([a == b for a, b in zip(texts, truth)])),
                "ms_per_line": 1000 * seconds / len(crops)}
    frames = whole_frames(args.frames) if args.frames else {}
    print(json.dumps({"lines": table, "whole_frames": frames, "protocol": {
        "lines_per_set": args.lines, "threads": 1, "fonts": f"unseen families {UNSEEN_FAMILIES}" if args.unseen else "held-out families", "onnxruntime": runtime_version(),
        "tesseract": subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        if "tesseract5" in engines else "not installed",
        "machine": machine()}}, indent=2))


if __name__ == "__main__":
    main()
