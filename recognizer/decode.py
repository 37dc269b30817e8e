"""Bytes in, a grey-scale photo out: every common format, EXIF-rotated, safely bounded in size.

Pillow decodes (it knows JPEG, PNG, WebP, BMP, TIFF, GIF, MPO and their quirks); large JPEGs are
reduced while decoding (draft mode) so a 12-megapixel photo costs about what a 1-megapixel one does.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# A 50-megapixel phone photo is plausible; anything beyond is refused before its pixels are decoded.
MAX_PIXELS = 60_000_000
# The recognizer works at this size (longest side); digits in a phone photo stay legible at it.
WORK_SIDE = 320


class ImageDecodeError(Exception):
    """The bytes could not be turned into a picture; ``user_message`` is safe to show to a user."""

    user_message = "I could not read that picture."


class NotAnImageError(ImageDecodeError):
    user_message = "That file is not a picture I can read (JPEG, PNG, WebP, BMP, TIFF or GIF)."


class TruncatedImageError(ImageDecodeError):
    user_message = "That picture seems to be cut off or damaged. Please send it again."


class ImageTooLargeError(ImageDecodeError):
    user_message = "That picture is too large. Please send a photo under 60 megapixels."


def decode_image(data: bytes, work_side: int = WORK_SIDE, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, float]:
    """Decode ``data`` into a grey uint8 array whose longest side is at most ``work_side``.

    Returns the array and the factor that maps its pixel coordinates back to the full-size,
    upright photo (multiply by it).

    Raises:
        NotAnImageError, TruncatedImageError, ImageTooLargeError: with a message fit for users.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise NotAnImageError("not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError("image dimensions exceed Pillow's safety limit") from None
    except OSError as error:
        raise NotAnImageError(f"unreadable image header: {error}") from None

    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} exceeds {max_pixels} pixels")
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # a malformed EXIF block must not stop us reading the pixels
        orientation = 1
    full_side = max(width, height)
    if image.format == "JPEG":
        # DCT-domain reduction: decodes at 1/2, 1/4 or 1/8 size, never below the requested size.
        image.draft("L" if image.mode in ("L", "RGB", "YCbCr") else image.mode, (work_side, work_side))
    try:
        image.load()
        if orientation != 1:
            image = ImageOps.exif_transpose(image)
        grey = _to_grey(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise TruncatedImageError(f"the image data is incomplete or corrupt: {error}") from None
    except Image.DecompressionBombError:
        raise ImageTooLargeError("image exceeds Pillow's safety limit") from None

    scale = work_side / max(grey.shape)
    if scale < 1:
        # Area averaging is needed to keep thin strokes when shrinking a lot; for the last step after
        # draft decoding (less than 2x) bilinear is as good and several times faster.
        method = cv2.INTER_LINEAR if scale > 0.5 else cv2.INTER_AREA
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                          interpolation=method)
    return grey, full_side / max(grey.shape)


def _to_grey(image: Image.Image) -> np.ndarray:
    """Flatten any mode (palette, alpha, CMYK, 16-bit, float) to 8-bit grey, transparency as white paper."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        if high <= low:
            return np.zeros(values.shape, np.uint8)
        return ((values - low) / (high - low) * 255).astype(np.uint8)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)
