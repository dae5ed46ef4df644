"""Width and height of an image from its header bytes, without decoding it.

A few hundred bytes of a PNG can declare 20000 x 20000 pixels; OpenCV would allocate
1.2 GB for it before anyone looks. Reading the declared size first lets the reader
refuse such a file. Only formats whose header we parse are read at all, so no
decoder ever sees an image whose size was not checked.
"""
from __future__ import annotations

import re
import struct

KNOWN_FORMATS = "PNG, JPEG, BMP, WebP, TIFF or PNM (PBM/PGM/PPM)"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
JPEG_STANDALONE_MARKERS = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RSTn: no length field
BMP_CORE_HEADER_SIZE = 12  # OS/2 BITMAPCOREHEADER: 16-bit width and height
TIFF_WIDTH_TAG, TIFF_HEIGHT_TAG = 256, 257
TIFF_SHORT, TIFF_LONG = 3, 4
WEBP_VP8_START_CODE = b"\x9d\x01\x2a"
WEBP_VP8L_SIGNATURE = 0x2F
WEBP_14_BITS = 0x3FFF
PNM_HEADER = re.compile(rb"P[1-6](?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)")


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) declared by the header, or None for an unknown format or a damaged header."""
    for parse in (_png, _jpeg, _bmp, _webp, _tiff, _pnm):
        try:
            size = parse(data)
        except (struct.error, IndexError, ValueError):
            return None  # the right magic, but the header is cut short
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def _png(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(PNG_SIGNATURE):
        return None
    if data[12:16] != b"IHDR":
        raise ValueError("PNG without IHDR")
    return struct.unpack(">II", data[16:24])


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while True:  # walk the marker segments up to the first start-of-frame
        if data[i] != 0xFF:
            raise ValueError("JPEG marker expected")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker in JPEG_STANDALONE_MARKERS:
            i += 2
        elif marker in JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        else:
            i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]


def _bmp(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"BM"):
        return None
    if struct.unpack("<I", data[14:18])[0] == BMP_CORE_HEADER_SIZE:
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)  # a negative height means top-down rows


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != WEBP_VP8_START_CODE:
            raise ValueError("VP8 start code missing")
        width, height = struct.unpack("<HH", data[26:30])
        return width & WEBP_14_BITS, height & WEBP_14_BITS
    if chunk == b"VP8L":
        if data[20] != WEBP_VP8L_SIGNATURE:
            raise ValueError("VP8L signature missing")
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & WEBP_14_BITS) + 1, ((bits >> 14) & WEBP_14_BITS) + 1
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    raise ValueError("unknown WebP chunk")


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None:
        return None
    ifd = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[ifd:ifd + 2])[0]
    found = {}
    for k in range(count):  # the first image (page) is the one OpenCV decodes
        tag, kind, _, value = struct.unpack(order + "HHI4s", data[ifd + 2 + 12 * k:ifd + 14 + 12 * k])
        if tag in (TIFF_WIDTH_TAG, TIFF_HEIGHT_TAG) and kind in (TIFF_SHORT, TIFF_LONG):
            short = kind == TIFF_SHORT
            found[tag] = struct.unpack(order + ("H" if short else "I"), value[:2 if short else 4])[0]
    if len(found) != 2:
        raise ValueError("TIFF without width or height")
    return found[TIFF_WIDTH_TAG], found[TIFF_HEIGHT_TAG]


def _pnm(data: bytes) -> tuple[int, int] | None:
    if not (data[:1] == b"P" and data[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6")):
        return None
    match = PNM_HEADER.match(data)
    if match is None:
        raise ValueError("PNM header without width and height")
    return int(match.group(1)), int(match.group(2))
