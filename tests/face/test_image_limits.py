"""The bounded image reader: sizes from headers, limits checked before decoding, one line per bad file."""
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.preprocess import image as image_module
from pipeline.preprocess.image import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, ImageFileError, read_image
from pipeline.preprocess.image_header import image_size
from tests.face.image_bombs import png_bomb

OCR_FIXTURES = Path(__file__).parents[1] / "ocr" / "fixtures"
PICTURE = np.random.default_rng(0).integers(0, 256, (37, 53, 3), np.uint8)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tif", ".ppm", ".pgm"])
def test_header_size_matches_what_opencv_decodes(tmp_path, ext):
    ok, encoded = cv2.imencode(ext, PICTURE if ext != ".pgm" else PICTURE[:, :, 0])
    assert ok
    assert image_size(encoded.tobytes()) == (53, 37)
    path = tmp_path / f"p{ext}"
    path.write_bytes(encoded.tobytes())
    assert read_image(path).shape == (37, 53, 3)


def test_header_variants_opencv_does_not_write_by_default():
    ok, lossless = cv2.imencode(".webp", PICTURE, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert lossless[12:16].tobytes() == b"VP8L" and image_size(lossless.tobytes()) == (53, 37)
    ok, progressive = cv2.imencode(".jpg", PICTURE, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert image_size(progressive.tobytes()) == (53, 37)
    vp8x = b"RIFF" + bytes(4) + b"WEBPVP8X" + bytes(8) + (52).to_bytes(3, "little") + (36).to_bytes(3, "little")
    assert image_size(vp8x) == (53, 37)
    width_long = struct.pack(">HHI4s", 256, 4, 1, struct.pack(">I", 70000))
    height_short = struct.pack(">HHI4s", 257, 3, 1, b"\x00\x25\x00\x00")
    big_endian_tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 2) + width_long + height_short
    assert image_size(big_endian_tiff) == (70000, 37)
    assert image_size(b"P6\n# a comment\n53 37\n255\n") == (53, 37)
    assert image_size(b"BM" + bytes(12) + struct.pack("<Iii", 40, 53, -37)) == (53, 37)  # top-down rows


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a\x35\x00\x25\x00",
                                  b"RIFF\x00\x00\x00\x00WEBPVP8 "])
def test_unknown_or_cut_headers_have_no_size(data):
    assert image_size(data) is None


def test_a_pixel_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(20000, 20000))
    assert path.stat().st_size < 100_000  # it would decode to 1.2 GB of BGR

    def no_decoding(*args):
        raise AssertionError("decoded an image over the pixel limit")
    monkeypatch.setattr(image_module.cv2, "imdecode", no_decoding)
    with pytest.raises(ImageFileError, match="bomb.png: image is 20000x20000 pixels, over the limit of "
                                             "50,000,000 pixels"):
        read_image(path)


def test_the_limits_are_inclusive(tmp_path):
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), PICTURE)
    assert read_image(path, max_pixels=53 * 37).shape == (37, 53, 3)
    with pytest.raises(ImageFileError, match="over the limit of 1,960 pixels"):
        read_image(path, max_pixels=53 * 37 - 1)
    size = path.stat().st_size
    assert read_image(path, max_bytes=size).shape == (37, 53, 3)
    with pytest.raises(ImageFileError, match="over the limit of"):
        read_image(path, max_bytes=size - 1)
    assert MAX_IMAGE_PIXELS == 50_000_000 and MAX_IMAGE_BYTES == 64 * 2**20  # the README states these


def test_damaged_missing_and_truncated_files_are_one_line(tmp_path):
    ok, encoded = cv2.imencode(".png", PICTURE)
    (tmp_path / "cut.png").write_bytes(encoded.tobytes()[:60])
    with pytest.raises(ImageFileError, match="cut.png: not a readable image \\(damaged or truncated\\)"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(ImageFileError, match="gone.png: cannot read: No such file or directory"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(ImageFileError, match="cannot read: Is a directory"):
        read_image(tmp_path)


def test_ocr_reports_a_too_large_image_and_still_reads_the_others(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(20000, 20000))
    good = OCR_FIXTURES / "clean_0.png"
    out = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "ocr", str(bomb), str(good)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip() == f"perceive ocr: {bomb}: image is 20000x20000 pixels, over the limit of " \
                                 "50,000,000 pixels (50 MP)"
    assert f"== {good} (" in out.stdout
