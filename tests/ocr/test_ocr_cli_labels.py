"""`perceive ocr`: the --min-confidence floor, and --draw's label layout."""
import subprocess
import sys
from pathlib import Path

from pipeline.cli.ocr import _overlaps, label_rects
from pipeline.skills.ocr.reader import TextLine

SIGN = Path(__file__).parent / "fixtures" / "real" / "chinese.jpg"


def perceive_ocr(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "ocr", "--threads", "1", *args],
                          capture_output=True, text=True, timeout=120)


def test_min_confidence_out_of_range_is_one_line_and_exit_2():
    out = perceive_ocr(str(SIGN), "--min-confidence", "1.5")
    assert out.returncode == 2 and "--min-confidence" in out.stderr and "Traceback" not in out.stderr


def test_the_default_floor_drops_lines_a_zero_floor_keeps():
    default, everything = perceive_ocr(str(SIGN)), perceive_ocr(str(SIGN), "--min-confidence", "0")
    count = lambda out: len([l for l in out.stdout.splitlines() if not l.startswith("==")])
    assert default.returncode == everything.returncode == 0
    assert "Yuyuan Rd." in default.stdout
    assert 0 < count(default) < count(everything)


def box(x, y, w, h):
    return TextLine([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], "a long label for a short box", 0.9, [], 0.9)


def test_labels_stay_inside_the_image_and_clear_of_each_other():
    # lines touching the top edge, stacked tightly, and running off the right edge
    lines = [box(5, 0, 60, 12), box(5, 13, 60, 12), box(5, 26, 60, 12), box(600, 200, 40, 12)]
    rects = label_rects(lines, (240, 640, 3), 0.5, 1)
    for i, (x, y, w, h) in enumerate(rects):
        assert 0 <= x and x + w <= 640 and 0 <= y and y + h <= 240
        assert not _overlaps((x, y, w, h), rects[:i])
