"""Bytes in, a grey-scale photo out: the accepted formats, EXIF-rotated, bounded in memory and time.

Pillow reads the header and decodes (it knows JPEG, PNG, WebP, BMP, TIFF, GIF, MPO and their quirks);
a JPEG it has set up to decode grey is decoded by OpenCV, the same libjpeg-turbo at less cost. What a file may
cost is decided before its pixels are decoded: large JPEGs are reduced while decoding (draft mode),
so a 12-megapixel photo costs about what a 1-megapixel one does; every other format is decoded at
full size, so its cost is counted from the decoded mode (a 16-bit or RGBA pixel costs several
bytes, a palette pixel one) and a file over ``MAX_DECODE_BYTES`` is refused. Decodes running at
once share ``DECODE_MEMORY_BYTES``: a large one waits for room rather than adding to the peak.
Conversion to grey runs in strips, so no full-size RGBA or float copy is ever made.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Iterator

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# Only these are ever handed to a Pillow decoder (MPO, a phone's multi-picture JPEG, comes through
# JPEG's): EPS (Ghostscript), ICO, JPEG 2000 and the rest are refused as "not a picture" before any
# of their code runs.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
# A 50-megapixel phone photo is plausible; anything beyond is refused before its pixels are decoded.
MAX_PIXELS = 60_000_000
# What one decode may cost (decoded pixels plus the decoder's own buffers plus the grey copy).
MAX_DECODE_BYTES = 160 * 1024 * 1024
# What all decodes running at once may cost together; one over the rest waits for room.
DECODE_MEMORY_BYTES = 192 * 1024 * 1024
# The recognizer's working size (longest side); digits in a phone photo stay legible at it. A close-up
# digit is read smaller and small writing larger (recognizer.preprocess: GLANCE_SIDE, DETAIL_SIDE).
WORK_SIDE = 320
# A JPEG's scans times its pixels: each scan of a progressive file is a pass over the whole frame. An
# ordinary progressive photo has 6-10 scans (60 megapixels: 0.6 gigapixels); a 127 KB file of 200 scans
# declaring 60 megapixels took 1.8 s to decode (12 gigapixels).
MAX_SCAN_PIXELS = 1_000_000_000
# Rows are converted to grey this many pixels at a time.
STRIP_PIXELS = 1 << 20

# Bytes per pixel of Pillow's own storage: 1 for L/P/1, 2 for 16-bit, 4 for everything else
# (RGB is stored with a padding byte, LA like RGBA).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
# Buffers a decoder holds beside the image, per pixel: libwebp decodes a whole RGBA frame and Pillow
# copies it as bytes (measured: 11); libtiff may read an uncompressed strip as large as the image.
_DECODER_EXTRA_BYTES = {"WEBP": 11, "TIFF": 4}
# What a decode costs beyond its pixels: row buffers, strips in conversion, Python's own (measured
# up to 18 MB with bench/decode_memory.py).
_DECODE_OVERHEAD_BYTES = 24 * 1024 * 1024
_DRAFT_FORMATS = frozenset({"JPEG", "MPO"})
_END_OF_IMAGE = b"\xff\xd9"
_START_OF_SCAN = b"\xff\xda"
_REDUCED_GREY = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
                 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_NUMERIC_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
# EXIF orientation -> the numpy operation that makes the picture upright (PIL's exif_transpose).
_ORIENT = {
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).T,
    8: lambda a: np.rot90(a, 1),
}


class ImageDecodeError(Exception):
    """The bytes could not be turned into a picture; ``user_message`` is safe to show to a user."""

    user_message = "I could not read that picture."


class NotAnImageError(ImageDecodeError):
    user_message = "That file is not a picture I can read (JPEG, PNG, WebP, BMP, TIFF or GIF)."


class TruncatedImageError(ImageDecodeError):
    user_message = "That picture seems to be cut off or damaged. Please send it again."


class ImageTooLargeError(ImageDecodeError):
    user_message = "That picture is too large. Please send a photo under 60 megapixels."


class DecodeBudget:
    """Bytes that decodes running at once may use together; ``reserve`` waits until there is room."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._room = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, cost: int) -> Iterator[None]:
        cost = min(cost, self.capacity)  # callers refuse larger files first; never wait forever
        with self._room:
            self._room.wait_for(lambda: self.in_use + cost <= self.capacity)
            self.in_use += cost
        try:
            yield
        finally:
            with self._room:
                self.in_use -= cost
                self._room.notify_all()


BUDGET = DecodeBudget(DECODE_MEMORY_BYTES)


def decode_cost(mode: str, size: tuple[int, int], image_format: str | None) -> int:
    """Bytes a decode of this image will hold at its peak: pixels, decoder buffers, the grey copy."""
    stored = 1 if mode in _ONE_BYTE_MODES else 2 if mode.startswith("I;16") else 4
    per_pixel = stored + _DECODER_EXTRA_BYTES.get(image_format or "", 0) + 1
    return size[0] * size[1] * per_pixel + _DECODE_OVERHEAD_BYTES


def _jpeg_bytes(image: Image.Image) -> bytes | None:
    """The encoded bytes of a JPEG header ``_open`` read (no copy: BytesIO shares them); None otherwise."""
    fp = getattr(image, "fp", None)
    return fp.getvalue() if image.format in _DRAFT_FORMATS and isinstance(fp, io.BytesIO) else None


def _arithmetic_coded(data: bytes) -> bool:
    """Whether a JPEG's frame is arithmetic-coded (SOF9-SOF15). No camera or messenger writes these, and
    libjpeg spends seconds on a few kilobytes of them declaring a large frame (a 4.6 KB file, 5 s), so
    they are refused before decoding. Walks the segments up to the frame header."""
    at = 2  # after SOI
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return False
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header
            return marker >= 0xC9
        if marker == 0xDA:  # scan data before any frame header: Pillow judges it
            return False
        at += 2 + (data[at + 2] << 8 | data[at + 3])
    return False


def _progressive_coefficient_bytes(image: Image.Image, full_size: tuple[int, int]) -> int:
    """What a progressive JPEG holds beside its pixels: libjpeg keeps the DCT coefficients of the whole
    image until the last scan, 2 bytes for each pixel of each component at full size, whatever the
    reduction asked for (a 7 KB file declaring 8944x6708 in 4:4:4 took 346 MB, measured).
    """
    if image.format not in _DRAFT_FORMATS or not image.info.get("progressive"):
        return 0
    width, height = full_size
    sampling = [(h, v) for _, h, v, _ in getattr(image, "layer", [])] or [(1, 1)]
    most_h = max(1, max(h for h, _ in sampling))
    most_v = max(1, max(v for _, v in sampling))
    blocks = 0  # 8x8 blocks of each component, padded to whole blocks
    for h, v in sampling:
        blocks += -(-width * h // (8 * most_h)) * -(-height * v // (8 * most_v))
    return blocks * 64 * 2


def open_image(data: bytes) -> Image.Image:
    """The picture's header (format, size, mode), pixels not decoded yet: ``decode_image`` takes it, so a
    caller that looks at the header first does not read it twice. Decode it once, or close it.

    Raises:
        NotAnImageError, ImageTooLargeError: as ``decode_image``.
    """
    return _open(data)


def decode_image(data: bytes | Image.Image, work_side: int = WORK_SIDE, max_pixels: int = MAX_PIXELS,
                 max_bytes: int = MAX_DECODE_BYTES) -> tuple[np.ndarray, float]:
    """Decode ``data`` (bytes, or the header ``open_image`` read) into a grey uint8 array whose longest
    side is at most ``work_side``.

    Returns the array and the factor that maps its pixel coordinates back to the full-size,
    upright photo (multiply by it).

    Raises:
        NotAnImageError, TruncatedImageError, ImageTooLargeError: with a message fit for users.
        Nothing else: whatever Pillow raises on a malformed file becomes one of these.
    """
    image = data if isinstance(data, Image.Image) else _open(data)
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} exceeds {max_pixels} pixels")
    encoded = _jpeg_bytes(image)
    if encoded is not None:
        if _arithmetic_coded(encoded):
            raise NotAnImageError("an arithmetic-coded JPEG (not a format cameras or Telegram make)")
        # Each scan of a progressive file passes over the whole frame. The marker cannot occur inside
        # entropy-coded data (a 0xFF there is followed by 0x00), so counting it counts the scans (give or
        # take a chance pair of bytes in metadata, or an EXIF thumbnail's own scan).
        scans = encoded.count(_START_OF_SCAN)
        if scans * width * height > MAX_SCAN_PIXELS:
            raise ImageTooLargeError(f"{width}x{height} JPEG in {scans} scans: {scans * width * height / 1e9:.1f}"
                                     f" gigapixels to decode (limit {MAX_SCAN_PIXELS / 1e9:.0f})")
    full_side = max(width, height)
    try:
        if image.format in _DRAFT_FORMATS:
            # DCT-domain reduction: decodes at 1/2, 1/4 or 1/8 size, never below the requested size.
            # The request has the photo's own shape: a square one would hold a 4:3 photo at twice the size.
            wanted = (max(1, width * work_side // full_side), max(1, height * work_side // full_side))
            image.draft("L" if image.mode in ("L", "RGB", "YCbCr") else image.mode, wanted)
        cost = decode_cost(image.mode, image.size, image.format)
        cost += _progressive_coefficient_bytes(image, (width, height))
    except Exception as error:  # a header Pillow accepted but cannot size
        raise NotAnImageError(f"unreadable image header: {type(error).__name__}: {error}") from None
    if cost > max_bytes:
        raise ImageTooLargeError(f"{width}x{height} {image.mode} {image.format} would take "
                                 f"{cost / 2**20:.0f} MB to decode (limit {max_bytes / 2**20:.0f} MB)")
    with BUDGET.reserve(cost):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about odd but readable files; we judge by result
                grey = None if encoded is None else _reduced_jpeg(image, encoded, (width, height))
                if grey is None:
                    image.load()
                    grey = _to_grey(image)
                orientation = _orientation(image)  # after load: PNG's getexif() would decode the pixels
        except MemoryError:
            raise ImageTooLargeError("not enough memory to decode this image") from None
        except (OSError, EOFError, SyntaxError) as error:
            raise TruncatedImageError(f"the image data is incomplete or corrupt: {error}") from None
        except Exception as error:  # Pillow's ValueError, TypeError, struct.error... on malformed files
            raise TruncatedImageError(f"the image data is malformed: {type(error).__name__}: {error}") from None
        finally:
            image.close()

    scale = work_side / max(grey.shape)
    if scale < 1:
        # Area averaging is needed to keep thin strokes when shrinking a lot; for the last step after
        # draft decoding (less than 2x) bilinear is as good and several times faster.
        method = cv2.INTER_LINEAR if scale > 0.5 else cv2.INTER_AREA
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                          interpolation=method)
    if orientation in _ORIENT:
        grey = np.ascontiguousarray(_ORIENT[orientation](grey))
    return grey, full_side / max(grey.shape)


def _reduced_jpeg(image: Image.Image, encoded: bytes, full_size: tuple[int, int]) -> np.ndarray | None:
    """The grey pixels of a JPEG header that ``draft`` set to decode grey at 1/1, 1/2, 1/4 or 1/8 (its
    ``encoded`` bytes), decoded by OpenCV; None where Pillow must decode it (any other file, or one OpenCV
    cannot decode whole).

    Both run libjpeg-turbo with the same scaled inverse DCT and give the same pixels (the 942 dev photos,
    as files and as Telegram sends them), but OpenCV's call costs about 30% less than Pillow's chunked
    decoder, and a close-up digit is mostly its decode. A file that does not end where a JPEG ends
    (truncated, mostly) goes to Pillow alone, which says why it cannot be read; OpenCV would decode it all
    and then give up. Where they differ: OpenCV reads some files libjpeg gives up on after their last row
    (Pillow refuses them), and libjpeg's warning about corrupt data goes to stderr, one short line per file.
    """
    if image.mode != "L":
        return None
    if not encoded.endswith(_END_OF_IMAGE):
        return None  # truncated, most likely: OpenCV would decode it all only to give up, then Pillow again
    width, height = full_size
    flag = next((flag for reduction, flag in _REDUCED_GREY.items()
                 if image.size == (-(-width // reduction), -(-height // reduction))), None)
    if flag is None:
        return None
    grey = cv2.imdecode(np.frombuffer(encoded, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if grey is None or grey.shape != (image.size[1], image.size[0]):
        return None
    return grey


def jpeg_pixels(image: Image.Image) -> int | None:
    """Width times height of a JPEG (an ``open_image`` header), whose decoder can reduce it by 2, 4 or 8 as
    it decodes (draft mode); None for every other format, which is decoded whole at any size.
    """
    return image.width * image.height if image.format in _DRAFT_FORMATS else None


def _open(data: bytes) -> Image.Image:
    """Read the header only, with Pillow limited to the accepted formats."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # metadata oddities: the pixels decide whether a file is usable
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise NotAnImageError("not an accepted image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError("image dimensions exceed Pillow's safety limit") from None
    except Exception as error:  # OSError, SyntaxError, ValueError, struct.error... from a malformed header
        raise NotAnImageError(f"unreadable image header: {type(error).__name__}: {error}") from None


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
        return value if isinstance(value, int) else 1
    except Exception:  # a malformed EXIF block must not stop us reading the pixels
        return 1


def _to_grey(image: Image.Image) -> np.ndarray:
    """Flatten any mode to 8-bit grey, strip by strip, so no full-size converted copy is made."""
    width, height = image.size
    grey = np.empty((height, width), np.uint8)
    numeric = image.mode in _NUMERIC_MODES
    if numeric:
        low, high = (float(v) for v in image.getextrema())
    rows = max(1, STRIP_PIXELS // width)
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        grey[top:top + strip.height] = _numeric_to_grey(strip, low, high) if numeric else _strip_to_grey(strip)
    return grey


def _numeric_to_grey(strip: Image.Image, low: float, high: float) -> np.ndarray:
    """16-bit, 32-bit and float pixels stretched from the whole image's range to 0-255."""
    if not high > low:  # also catches NaN
        return np.zeros((strip.height, strip.width), np.uint8)
    values = np.asarray(strip, dtype=np.float32)
    return np.clip((values - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def _strip_to_grey(image: Image.Image) -> np.ndarray:
    """Palette, alpha, CMYK, RGB... to 8-bit grey, transparency as white paper."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)
