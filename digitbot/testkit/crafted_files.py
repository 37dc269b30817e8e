"""Hand-built image files, field by field, for the malformed headers Pillow's writers never produce."""

from __future__ import annotations

import struct
import zlib

# TIFF field types.
SHORT, LONG, RATIONAL, FLOAT = 3, 4, 5, 11
_PIXELS_AT = b"PIXO"  # placeholder for the offset of the pixel data, filled in by ``tiff``


def tiff(entries: list[tuple[int, int, int, bytes]], pixels: bytes) -> bytes:
    """A little-endian TIFF with one IFD of (tag, type, count, value bytes); ``b"PIXO"`` in a value
    is replaced by the offset of ``pixels``."""
    count = len(entries)
    data_at = 8 + 2 + count * 12 + 4
    extra = b""
    fields = []
    for tag, kind, number, value in sorted(entries):
        if len(value) <= 4:
            fields.append(struct.pack("<HHI", tag, kind, number) + value.ljust(4, b"\0"))
        else:
            fields.append(struct.pack("<HHI", tag, kind, number) + struct.pack("<I", data_at + len(extra)))
            extra += value
    body = b"II*\0" + struct.pack("<IH", 8, count) + b"".join(fields) + b"\0\0\0\0" + extra
    return body.replace(_PIXELS_AT, struct.pack("<I", data_at + len(extra))) + pixels


def grey_tiff(width: int = 4, height: int = 4, *, width_field: tuple[int, int, bytes] | None = None,
              strip_offsets: tuple[int, int, bytes] | None = None) -> bytes:
    """An uncompressed 8-bit grey TIFF; ``width_field`` / ``strip_offsets`` replace those fields
    with (type, count, value bytes) of one's choosing."""
    entries = [
        (256, *(width_field or (SHORT, 1, struct.pack("<H", width)))),
        (257, SHORT, 1, struct.pack("<H", height)),
        (258, SHORT, 1, struct.pack("<H", 8)),
        (259, SHORT, 1, struct.pack("<H", 1)),
        (262, SHORT, 1, struct.pack("<H", 1)),
        (273, *(strip_offsets or (LONG, 1, _PIXELS_AT))),
        (277, SHORT, 1, struct.pack("<H", 1)),
        (278, SHORT, 1, struct.pack("<H", height)),
        (279, LONG, 1, struct.pack("<I", width * height)),
    ]
    return tiff(entries, bytes(range(0, 256, 256 // max(1, width * height)))[: width * height].ljust(width * height))


def png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of the given (type, data) chunks, each with its length and a correct CRC."""
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return out


def grey_png(trns: bytes | None = None, colour_type: int = 0) -> bytes:
    """A 4x4 8-bit PNG (grey, or RGB with ``colour_type`` 2), with a tRNS chunk of exactly ``trns``."""
    channels = 3 if colour_type == 2 else 1
    header = struct.pack(">IIBBBBB", 4, 4, 8, colour_type, 0, 0, 0)
    rows = b"".join(b"\0" + bytes([40 * y] * 4 * channels) for y in range(4))
    chunks = [(b"IHDR", header)]
    if trns is not None:
        chunks.append((b"tRNS", trns))
    return png(chunks + [(b"IDAT", zlib.compress(rows)), (b"IEND", b"")])
