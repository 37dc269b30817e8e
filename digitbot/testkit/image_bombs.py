"""Small files that decode to huge images: the worst each accepted format and mode can do.

Each is a real file of its format (written by Pillow), mostly blank with one dark stroke, a few
hundred KB at most. ``worst_accepted`` sizes each so that it costs just under what the decoder
accepts; ``issue_files`` are the sizes from issue 9 that once cost 0.5-1.1 GB each. Run as a script
to write them into a folder:

    python -m digitbot.testkit.image_bombs OUT_DIR
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, TiffImagePlugin

from recognizer.decode import MAX_DECODE_BYTES, MAX_PIXELS, decode_cost

# (name, mode, format, save options): every accepted format, and each expensive mode.
KINDS: list[tuple[str, str, str, dict]] = [
    ("palette-transparent.png", "P", "PNG", {"transparency": 0}),
    ("grey.png", "L", "PNG", {}),
    ("rgba.png", "RGBA", "PNG", {}),
    ("la.png", "LA", "PNG", {}),
    ("grey16.png", "I;16", "PNG", {}),
    ("rgb.webp", "RGB", "WEBP", {"lossless": True, "quality": 0, "method": 0}),
    ("rgba.webp", "RGBA", "WEBP", {"lossless": True, "quality": 0, "method": 0}),
    ("rgba.tiff", "RGBA", "TIFF", {"compression": "tiff_adobe_deflate"}),
    ("float.tiff", "F", "TIFF", {"compression": "tiff_adobe_deflate"}),
    ("grey16.tiff", "I;16", "TIFF", {"compression": "tiff_adobe_deflate"}),
    ("one-strip-rgb.tiff", "RGB", "TIFF", {"compression": "tiff_adobe_deflate", "one_strip": True}),
    ("grey.gif", "L", "GIF", {}),
    ("rgb.bmp", "RGB", "BMP", {}),
    ("rgb.jpg", "RGB", "JPEG", {"quality": 50}),
]

_BACKGROUND = {"P": 0, "L": 255, "RGBA": (255, 255, 255, 0), "LA": (255, 0), "I;16": 60000, "RGB": (255, 255, 255),
               "F": 0.0}
_INK = {"P": 1, "L": 0, "RGBA": (0, 0, 0, 255), "LA": (0, 255), "I;16": 1000, "RGB": (0, 0, 0), "F": 1.0}


def render(mode: str, fmt: str, size: tuple[int, int], options: dict) -> bytes:
    """A blank page of ``size`` with one dark stroke (a 1), encoded as ``fmt``."""
    image = Image.new(mode, size, _BACKGROUND[mode])
    if mode == "P":
        image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    width, height = size
    ImageDraw.Draw(image).line([(width * 0.48, height * 0.2), (width * 0.52, height * 0.8)], fill=_INK[mode],
                               width=max(3, min(size) // 20))
    options = dict(options)
    buffer = io.BytesIO()
    if options.pop("one_strip", False):  # one strip as large as the image: libtiff's worst buffer
        options["strip_size"] = width * height * 4
    if fmt == "TIFF":
        old = TiffImagePlugin.STRIP_SIZE
        TiffImagePlugin.STRIP_SIZE = options.pop("strip_size", old)
        try:
            image.save(buffer, fmt, **options)
        finally:
            TiffImagePlugin.STRIP_SIZE = old
    else:
        image.save(buffer, fmt, **options)
    return buffer.getvalue()


def worst_size(mode: str, fmt: str, aspect: float = 1.0) -> tuple[int, int]:
    """The largest ``aspect``-shaped size whose decode the recognizer still accepts."""
    pixels = MAX_PIXELS
    while decode_cost(mode, (int(math.sqrt(pixels * aspect)), int(math.sqrt(pixels / aspect))), fmt) > MAX_DECODE_BYTES:
        pixels = int(pixels * 0.98)
    return int(math.sqrt(pixels * aspect)), int(math.sqrt(pixels / aspect))


def worst_accepted() -> dict[str, bytes]:
    """One file per kind, each as large as the decoder accepts (JPEG: the pixel cap itself)."""
    return {name: render(mode, fmt, worst_size(mode, fmt), options) for name, mode, fmt, options in KINDS}


def issue_files() -> dict[str, bytes]:
    """The sizes of issue 9 (7700x7700, and a 16383x3600 WebP), which once cost 0.5-1.1 GB each."""
    files = {f"7700-{name}": render(mode, fmt, (7700, 7700), options)
             for name, mode, fmt, options in KINDS if fmt not in ("JPEG", "BMP")}  # raw BMP: a 178 MB file
    files["16383x3600.webp"] = render("RGB", "WEBP", (16383, 3600), {"lossless": True, "quality": 0, "method": 0})
    return files


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for group, files in (("worst", worst_accepted()), ("issue", issue_files())):
        for name, data in files.items():
            (out / f"{group}-{name}").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
