"""Fuzzing ``Recognizer.recognize`` with mutated real photos in every accepted format.

Seeds are real photos (``$PHOTOS_DEV`` or ``../shared/data/photos-dev``; a drawn digit on a
rendered page where those are absent), each re-encoded as JPEG, MPO, PNG (grey, RGB, palette with
transparency, 16-bit, interlaced), WebP (lossy, lossless), BMP, TIFF (raw, deflate, 16-bit) and GIF.
Every case takes one seed file and one mutation, chosen by a seeded generator: random bytes,
truncation, a repeated or dropped range, or a structured change to one header field (dimensions,
depths, offsets, chunk and segment lengths, field types) with checksums made right again so the
decoder reads on. The only acceptable outcomes are an answer or an ``ImageDecodeError``, within a
second each. Run as a script (in its own process, so its peak memory is its own):

    python -m digitbot.testkit.fuzz_images --cases 300 --seed 1    # prints one JSON summary line
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import struct
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from digitbot.testkit import REPO

SEED_PHOTOS = 3  # real photos taken from the folder, in name order across writers

Mutation = Callable[[bytes, np.random.Generator], bytes]


def photos_dir() -> Path:
    return Path(os.environ.get("PHOTOS_DEV") or REPO.parent / "shared" / "data" / "photos-dev")


def seed_photos(count: int = SEED_PHOTOS) -> list[tuple[str, Image.Image]]:
    """A few real photos, at most 400 px (fuzzing speed), or a drawn digit when none are here."""
    folder = photos_dir() / "single"
    files = sorted(folder.glob("*/*.jpg"))[:: max(1, len(sorted(folder.glob("*/*.jpg"))) // count)][:count] \
        if folder.is_dir() else []
    photos = []
    for file in files:
        image = Image.open(file).convert("RGB")
        image.thumbnail((400, 400))
        photos.append((f"{file.parent.name}/{file.name}", image))
    if not photos:
        page = np.full((240, 200, 3), 225, np.uint8)
        cv2.line(page, (100, 40), (95, 200), (30, 30, 40), 9)
        photos.append(("drawn-1", Image.fromarray(page)))
    return photos


def encodings(image: Image.Image) -> dict[str, bytes]:
    """The photo in every accepted format and the modes that take other decoder paths."""
    def save(img: Image.Image, fmt: str, **options: object) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, fmt, **options)
        return buffer.getvalue()

    grey = image.convert("L")
    palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return {
        "jpeg": save(image, "JPEG", quality=85),
        "jpeg-progressive": save(grey, "JPEG", quality=70, progressive=True),
        "mpo": save(image, "MPO", save_all=True, append_images=[grey.convert("RGB")]),
        "png-grey": save(grey, "PNG"),
        "png-rgb-interlaced": save(image, "PNG", interlace=True) if _png_interlace_supported() else save(image, "PNG"),
        "png-palette-transparent": save(palette, "PNG", transparency=0),
        "png-16bit": save(grey.convert("I").point(lambda v: v * 256).convert("I;16"), "PNG"),
        "webp-lossy": save(image, "WEBP", quality=60),
        "webp-lossless": save(image.convert("RGBA"), "WEBP", lossless=True),
        "bmp": save(image, "BMP"),
        "tiff-raw": save(grey, "TIFF"),
        "tiff-deflate": save(image, "TIFF", compression="tiff_adobe_deflate"),
        "tiff-16bit": save(grey.convert("I;16"), "TIFF", compression="packbits"),
        "gif": save(palette, "GIF"),
    }


def _png_interlace_supported() -> bool:
    try:
        Image.new("L", (2, 2)).save(io.BytesIO(), "PNG", interlace=True)
        return True
    except (TypeError, ValueError, OSError):
        return False


# --- blind mutations ------------------------------------------------------------------------------

def flip_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 12))):
        out[int(rng.integers(len(out)))] = int(rng.integers(256))
    return bytes(out)


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def splice(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(len(data)))
    end = min(len(data), start + int(rng.integers(1, 512)))
    return data[:start] + data[start:end] * int(rng.integers(0, 3)) + data[end:]


# --- structured mutations of header fields ----------------------------------------------------------

_EDGES = (0, 1, 2, 3, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _edge(rng: np.random.Generator, bits: int) -> int:
    value = int(rng.choice(_EDGES)) if rng.random() < 0.7 else int(rng.integers(0, 20_000))
    return value & ((1 << bits) - 1)


def _put(data: bytearray, offset: int, fmt: str, value: int) -> None:
    if offset + struct.calcsize(fmt) <= len(data):
        struct.pack_into(fmt, data, offset, value)


def mutate_png(data: bytes, rng: np.random.Generator) -> bytes:
    """Change one IHDR field or one chunk's length; fix the CRC four times in five."""
    out = bytearray(data)
    chunks = []
    position = 8
    while position + 8 <= len(out):
        length = struct.unpack_from(">I", out, position)[0]
        chunks.append((position, length))
        position += 12 + length
    if not chunks:
        return flip_bytes(data, rng)
    at, length = chunks[int(rng.integers(len(chunks)))] if rng.random() < 0.5 else chunks[0]
    if at == 8 and rng.random() < 0.7:  # IHDR: width, height, depth, colour type, interlace
        field = int(rng.integers(5))
        offsets = [(16, ">I", 32), (20, ">I", 32), (24, ">B", 8), (25, ">B", 8), (28, ">B", 8)]
        offset, fmt, bits = offsets[field]
        _put(out, offset, fmt, _edge(rng, bits) if bits == 32 else int(rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 16, 255])))
    else:
        _put(out, at, ">I", _edge(rng, 32) if rng.random() < 0.5 else max(0, length + int(rng.integers(-3, 4))))
    if rng.random() < 0.8 and at + 8 + length + 4 <= len(out):
        kind_and_data = bytes(out[at + 4: at + 8 + length])
        _put(out, at + 8 + length, ">I", zlib.crc32(kind_and_data))
    return bytes(out)


def mutate_jpeg(data: bytes, rng: np.random.Generator) -> bytes:
    """Change a frame header field (height, width, components, precision) or a segment's length."""
    out = bytearray(data)
    segments = []
    position = 2
    while position + 4 <= len(out) and out[position] == 0xFF:
        marker = out[position + 1]
        length = struct.unpack_from(">H", out, position + 2)[0]
        segments.append((position, marker, length))
        if marker == 0xDA:
            break
        position += 2 + length
    frames = [s for s in segments if s[1] in (0xC0, 0xC1, 0xC2)]
    if frames and rng.random() < 0.6:
        at = frames[0][0]
        offset, fmt, bits = [(at + 5, ">H", 16), (at + 7, ">H", 16), (at + 9, ">B", 8), (at + 4, ">B", 8)][
            int(rng.integers(4))]
        _put(out, offset, fmt, _edge(rng, bits))
    elif segments:
        at, _, length = segments[int(rng.integers(len(segments)))]
        _put(out, at + 2, ">H", _edge(rng, 16) if rng.random() < 0.5 else max(0, min(0xFFFF, length + int(
            rng.integers(-3, 4)))))
    return bytes(out)


_TIFF_TYPES = (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 0, 99)


def mutate_tiff(data: bytes, rng: np.random.Generator) -> bytes:
    """Change one field of the first IFD: its type, its count, or its value (sizes, offsets, depths)."""
    out = bytearray(data)
    if len(out) < 8:
        return flip_bytes(data, rng)
    order = "<" if out[:2] == b"II" else ">"
    ifd = struct.unpack_from(order + "I", out, 4)[0]
    if ifd + 2 > len(out):
        return flip_bytes(data, rng)
    count = struct.unpack_from(order + "H", out, ifd)[0]
    if count == 0 or ifd + 2 + 12 * count > len(out):
        return flip_bytes(data, rng)
    tags = [struct.unpack_from(order + "H", out, ifd + 2 + 12 * i)[0] for i in range(count)]
    interesting = [i for i, tag in enumerate(tags) if tag in (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317)]
    index = int(rng.choice(interesting)) if interesting and rng.random() < 0.8 else int(rng.integers(count))
    entry = ifd + 2 + 12 * index
    choice = rng.random()
    if choice < 0.25:
        _put(out, entry + 2, order + "H", int(rng.choice(_TIFF_TYPES)))
    elif choice < 0.45:
        _put(out, entry + 4, order + "I", _edge(rng, 32))
    else:
        kind = struct.unpack_from(order + "H", out, entry + 2)[0]
        if kind == 3:
            _put(out, entry + 8, order + "H", _edge(rng, 16))
        else:
            _put(out, entry + 8, order + "I", _edge(rng, 32))
    return bytes(out)


def mutate_gif(data: bytes, rng: np.random.Generator) -> bytes:
    """Change the screen size, the flags, the first image's size or position, or the LZW code size."""
    out = bytearray(data)
    image_at = out.find(b"\x2c", 13 + (3 << ((out[10] & 7) + 1) if len(out) > 10 and out[10] & 0x80 else 13))
    fields = [(6, "<H", 16), (8, "<H", 16), (10, "<B", 8)]
    if image_at > 0:
        fields += [(image_at + 1, "<H", 16), (image_at + 3, "<H", 16), (image_at + 5, "<H", 16),
                   (image_at + 7, "<H", 16), (image_at + 9, "<B", 8), (image_at + 10, "<B", 8)]
    offset, fmt, bits = fields[int(rng.integers(len(fields)))]
    _put(out, offset, fmt, _edge(rng, bits))
    return bytes(out)


def mutate_bmp(data: bytes, rng: np.random.Generator) -> bytes:
    """Change the pixel offset, width, height (negative: top-down), depth, compression or colours used."""
    out = bytearray(data)
    offset, fmt, bits = [(10, "<I", 32), (18, "<i", 31), (22, "<i", 31), (28, "<H", 16), (30, "<I", 32),
                         (46, "<I", 32)][int(rng.integers(6))]
    value = _edge(rng, bits)
    if fmt == "<i" and rng.random() < 0.3:
        value = -value
    _put(out, offset, fmt, value)
    return bytes(out)


def mutate_webp(data: bytes, rng: np.random.Generator) -> bytes:
    """Change the RIFF size, the first chunk's size, or the frame's dimensions."""
    out = bytearray(data)
    kind = bytes(out[12:16])
    fields = [(4, "<I", 32), (16, "<I", 32)]
    if kind == b"VP8 ":
        fields += [(26, "<H", 16), (28, "<H", 16)]
    elif kind == b"VP8L":
        fields += [(21, "<I", 32)]
    elif kind == b"VP8X":
        fields += [(24, "<I", 24), (27, "<I", 24)]
    offset, fmt, bits = fields[int(rng.integers(len(fields)))]
    _put(out, offset, fmt, _edge(rng, bits))
    return bytes(out)


STRUCTURED: dict[str, Mutation] = {"jpeg": mutate_jpeg, "mpo": mutate_jpeg, "png": mutate_png, "webp": mutate_webp,
                                   "bmp": mutate_bmp, "tiff": mutate_tiff, "gif": mutate_gif}
BLIND: dict[str, Mutation] = {"flip": flip_bytes, "truncate": truncate, "splice": splice}


def cases(count: int, seed: int) -> list[tuple[str, str, bytes]]:
    """``count`` (seed file, mutation, bytes), about half of them structured header changes."""
    rng = np.random.default_rng(seed)
    files = [(f"{name}:{kind}", kind.split("-")[0], data) for name, image in seed_photos()
             for kind, data in encodings(image).items()]
    chosen = []
    for _ in range(count):
        label, family, data = files[int(rng.integers(len(files)))]
        if rng.random() < 0.5:
            name, mutate = "header", STRUCTURED[family]
        else:
            name, mutate = list(BLIND.items())[int(rng.integers(len(BLIND)))]
        mutated = mutate(data, rng)
        if rng.random() < 0.2:  # a second change on top, as real damage often is
            mutated = STRUCTURED[family](mutated, rng)
        chosen.append((label, name, mutated))
    return chosen


def run(count: int, seed: int) -> dict[str, object]:
    """Recognize every case; return what happened, the slowest case, and this process's peak memory."""
    from recognizer import ImageDecodeError, Recognizer  # noqa: PLC0415 - after argument parsing

    recognizer = Recognizer.load()
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    slowest = (0.0, "")
    for label, mutation, data in cases(count, seed):
        started = time.perf_counter()
        try:
            recognizer.recognize(data)
            outcomes["answered"] += 1
        except ImageDecodeError as error:
            outcomes[type(error).__name__] += 1
        except Exception as error:  # what the fuzzing looks for
            crashes.append(f"{label} {mutation}: {type(error).__name__}: {error}"[:300])
        seconds = time.perf_counter() - started
        if seconds > slowest[0]:
            slowest = (seconds, f"{label} {mutation}")
    return {"cases": count, "seed": seed, "outcomes": dict(outcomes), "crashes": crashes,
            "slowest_s": round(slowest[0], 3), "slowest_case": slowest[1],
            "peak_memory_mb": round(peak_memory_mb(), 1)}


def peak_memory_mb() -> float:
    """This process's own peak memory: VmHWM where Linux has it, since ru_maxrss keeps the high-water mark
    of the parent that forked this process (a test runner holding TensorFlow) through the exec."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.cases, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
