"""Small files that declare (and really hold) huge images, to test the image size limits."""
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRAY, ONE_BIT = 0, 1


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG of width x height: tens of kB on disk, width*height*3 bytes decoded as BGR."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, ONE_BIT, GRAY, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
