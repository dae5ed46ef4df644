"""The two-stage reader: detect lines, rectify each crop, batch crops by width, recognise."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.engine import Engine
from pipeline.errors import ContractError
from pipeline.skills.ocr.ctc import Decoded, trim_edges
from pipeline.skills.ocr.db import DetectParams
from pipeline.skills.ocr.prior import fix_line
from pipeline.skills.ocr.steps import boxes_in_frame, detector_map, recognise_crops
from pipeline.preprocess.image import check_frame

MIN_CROP_PIXELS = 4     # a rectified crop thinner than this cannot hold text
# Each crop is widened by this share of its height at both ends: a box that ends a pixel early cuts a
# final '.' or ','. Chosen once, with the shipped models, on the 200 training-font scenes export/ocr.py
# tunes the detector on (a one-off script, not kept): lines read exactly end to end 82.0% at 0,
# 84.1% at 0.05, 84.5% at 0.1, 84.0% at 0.15, 83.0% at 0.2.
CROP_MARGIN = 0.1
# Real-photo junk filter, chosen on the TUNE half of the real photos (export/ocr_real.py, rule in its
# docstring; held-out photos never looked at for it): on real text-free photos (trees, fruit, brick,
# sky) the shipped detector fires with box scores of 0.70-0.86 and the recogniser reads short strings
# at a mean character confidence mostly under 0.7, while lines that hold true words score >= 0.83
# and >= 0.8. Tune photos (before the language prior), false lines per text-free photo / word recall: contract box threshold 0.7 and no
# confidence floor 2.0 lines / 18.5%; box 0.8 alone 0.62 / 18.5%; mean confidence 0.7 alone
# 0.08 / 18.5%; both 0.08 / 18.5%; mean confidence 0.8: 0.08 / 18.0%.
MIN_LINE_CONFIDENCE = 0.7   # mean character confidence a line needs to be output
REAL_BOX_THRESHOLD = 0.8    # mean detector probability a box needs (the contract's 0.7 is from synthetic scenes)
# The probability a pixel needs to belong to a line core, for real photos. The export tunes it on
# synthetic scenes (0.3 for the detector shipped 2026-12-02), where lines stand apart; on real pages
# the close lines' cores then merge. Chosen on the TUNE photos with that detector (box 0.8, floor 0.7),
# word recall stage / `perceive ocr`: 0.3: 21.9% / 30.9%; 0.4: 26.4% / 31.5%; 0.45: 27.0% / 32.0%;
# 0.5: 27.0% / 33.7%; 0.55: 27.0% / 34.8%; 0.6: 27.5% / 33.7%; no false line at 0.5 (0.08 at 0.45).
REAL_MAP_THRESHOLD = 0.5
# Small text in still photos is lost at the detector's native long side (640). `perceive ocr` scales
# every photo to this long side instead. Tune photos, word recall / false lines per text-free photo /
# p50 ms per photo: 640: 20.8% / 0.08 / 79; 960: 26.4% / 0 / 159; 1280: 24.2% / 0.15 / 288; 960 but
# never enlarging a photo: 24.2% / 0.08 / 105. Video stages keep the native size (speed).
STILL_LONG_SIDE = 960


@dataclass
class TextLine:
    box: list[list[float]]          # 4 corners in frame pixels: tl, tr, br, bl
    text: str
    confidence: float               # the mean per-character confidence
    char_confidences: list[float]
    detection_score: float
    order: int = 0                  # reading order, top to bottom then left to right


@dataclass
class OcrResult:
    lines: list[TextLine] = field(default_factory=list)
    detect_ms: float = 0.0
    crop_ms: float = 0.0
    recognise_ms: float = 0.0
    elapsed_ms: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def widen(quad: np.ndarray, margin: float) -> np.ndarray:
    """The box extended along its text direction by ``margin`` x its height at both ends."""
    tl, tr, br, bl = quad.astype(np.float32)
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    along = (tr - tl) + (br - bl)
    step = along / max(float(np.linalg.norm(along)), 1e-6) * margin * height
    return np.float32([tl - step, tr + step, br + step, bl - step])


def rectify(frame: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp a (possibly tilted) line box to an upright crop of its own width and height."""
    tl, tr, br, bl = quad.astype(np.float32)
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    if width < MIN_CROP_PIXELS or height < MIN_CROP_PIXELS:
        return np.zeros((0, 0), np.uint8)
    dst = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    m = cv2.getPerspectiveTransform(np.float32([tl, tr, br, bl]), dst)
    return cv2.warpPerspective(frame, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reading_order(quads: list[np.ndarray]) -> list[int]:
    """Indices top-to-bottom; boxes whose centres are within half a line height share a row."""
    if not quads:
        return []
    centres = np.array([q.mean(axis=0) for q in quads])
    heights = np.array([np.linalg.norm(q[3] - q[0]) for q in quads])
    order = list(np.argsort(centres[:, 1]))
    rows, current = [], [order[0]]
    for i in order[1:]:
        if abs(centres[i, 1] - centres[current[0], 1]) < 0.5 * max(heights[i], heights[current[0]]):
            current.append(i)
        else:
            rows.append(current)
            current = [i]
    rows.append(current)
    return [int(i) for row in rows for i in sorted(row, key=lambda k: centres[k, 0])]


class OcrReader:
    def __init__(self, detector: Engine, recogniser: Engine, params: DetectParams | None = None,
                 min_confidence: float = MIN_LINE_CONFIDENCE, language_prior: bool = True,
                 long_side: int = 0):
        dc, rc = detector.contract, recogniser.contract
        if dc is None or dc.task != "ocr_det" or rc is None or rc.task != "ocr_rec":
            raise ContractError(f"OCR needs an ocr_det and an ocr_rec model, got {detector.path.name} "
                                f"({dc.task if dc else None}) and {recogniser.path.name} ({rc.task if rc else None})")
        self.detector, self.recogniser = detector, recogniser
        self.det_spec, self.rec_spec = dc.image, rc.image
        self.long_side = long_side or int(dc.params["long_side"])   # frames are scaled to this long side
        self.stride = int(dc.params["output_stride"])
        if params is None:
            params = DetectParams.from_contract(dc.params)
            params.box_threshold = max(params.box_threshold, REAL_BOX_THRESHOLD)
            params.threshold = max(params.threshold, REAL_MAP_THRESHOLD)
        self.params = params
        self.min_confidence = min_confidence      # lines below it are dropped (0: keep every line)
        self.language_prior = language_prior      # fix O/0, l/1 and one unsure letter per unknown word
        self.alphabet = rc.alphabet
        self.max_width = int(rc.params.get("max_width", 800))

    def detect(self, frame: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
        """Line boxes in frame pixels and their scores (pipeline/skills/ocr/steps.py, as export measures them)."""
        prob, scale = detector_map(self.detector, frame, self.det_spec, self.long_side, self.stride)
        return boxes_in_frame(prob, scale, self.params)

    def recognise(self, crops: list[np.ndarray]) -> list[Decoded]:
        """Decoded lines for BGR/gray crops, batched by width (less padding per batch)."""
        return recognise_crops(self.recogniser, crops, self.rec_spec, self.alphabet, self.max_width)

    def read(self, frame: np.ndarray) -> OcrResult:
        start = time.perf_counter()
        frame = check_frame(frame)
        quads, scores = self.detect(frame)
        t_det = time.perf_counter()
        crops = [rectify(frame, widen(q, CROP_MARGIN)) for q in quads]
        keep = [i for i, c in enumerate(crops) if c.size]
        t_crop = time.perf_counter()
        decoded = self.recognise([crops[i] for i in keep]) if keep else []
        t_rec = time.perf_counter()
        fix = fix_line if self.language_prior else (lambda d: d)
        # the floor judges the line as read; the end glyphs it trims do not raise its confidence
        kept = [(i, fix(trim_edges(d)), d.mean_confidence) for i, d in zip(keep, decoded)
                if d.text and d.mean_confidence >= self.min_confidence]
        lines = [TextLine(quads[i].round(1).tolist(), d.text, conf, [round(c, 4) for c in d.char_confidences],
                          round(scores[i], 4)) for i, d, conf in kept if d.text]
        for rank, i in enumerate(reading_order([np.asarray(l.box) for l in lines])):
            lines[i].order = rank
        lines.sort(key=lambda line: line.order)
        return OcrResult(lines, (t_det - start) * 1000, (t_crop - t_det) * 1000, (t_rec - t_crop) * 1000,
                         (t_rec - start) * 1000)
