"""Digits drawn from fonts, and hand-drawn in the styles MNIST lacks (closed-top 4s, square 5s, flagged 1s...).

MNIST was written mostly by American writers; many people elsewhere write a 1 with a long flag and a
4 with a closed top, which a model trained on MNIST alone reads as 7 and 9. Font digits carry those
shapes. They pass through the recognizer's own ``fit_to_mnist`` so they look exactly like what the
recognizer feeds the model, and the usual augmentation distorts them further every epoch.
OpenCV's Hershey vector fonts are always available; TrueType fonts are added when the system has any.
"""

from __future__ import annotations

import glob

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from recognizer.mnist_format import MNIST_STROKE_FRACTION, fit_to_mnist
from training import styles

HERSHEY_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
                 cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
                 cv2.FONT_HERSHEY_PLAIN)
TRUETYPE_GLOBS = ("/usr/share/fonts/**/*.ttf", "/System/Library/Fonts/**/*.ttf", "C:/Windows/Fonts/*.ttf")
CANVAS = 160


def _hershey_glyph(digit: int, font: int, italic: bool, thickness: int) -> np.ndarray:
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    face = font | (cv2.FONT_ITALIC if italic else 0)
    cv2.putText(canvas, str(digit), (30, 125), face, 4.0, 1, thickness, cv2.LINE_8)
    return canvas


def _truetype_glyph(digit: int, path: str) -> np.ndarray | None:
    try:
        font = ImageFont.truetype(path, 110)
    except OSError:
        return None
    image = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(image).text((25, 10), str(digit), fill=1, font=font)
    return np.asarray(image, np.uint8)


def base_glyphs() -> tuple[list[np.ndarray], list[int]]:
    """Every digit in every available font, as binary images of any size (1 = ink)."""
    glyphs, labels = [], []
    truetype = sorted({p for pattern in TRUETYPE_GLOBS for p in glob.glob(pattern, recursive=True)})
    for digit in range(10):
        for font in HERSHEY_FONTS:
            for italic in (False, True):
                for thickness in (3, 6):
                    glyphs.append(_hershey_glyph(digit, font, italic, thickness))
                    labels.append(digit)
        for path in truetype:
            glyph = _truetype_glyph(digit, path)
            if glyph is not None and glyph.any():
                glyphs.append(glyph)
                labels.append(digit)
    return glyphs, labels


def font_digits(per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_digit`` MNIST-format font digits per class, each with its own stroke width and slant."""
    rng = np.random.default_rng(seed)
    glyphs, labels = base_glyphs()
    labels_array = np.array(labels)
    images, targets = [], []
    for digit in range(10):
        choices = np.flatnonzero(labels_array == digit)
        for index in rng.choice(choices, per_digit, replace=True):
            stroke = MNIST_STROKE_FRACTION * rng.uniform(0.7, 1.5)
            slant = rng.uniform(-0.3, 0.3)
            images.append(fit_to_mnist(glyphs[index], stroke, slant))
            targets.append(digit)
    return np.stack(images), np.array(targets, np.int64)


def style_digits(per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hand-drawn-looking digits in the styles MNIST lacks (``training.styles``), in MNIST form.

    ``per_digit`` of each digit that has styles, with random pen width, proportions and slant.
    """
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for digit in styles.STYLES:
        for _ in range(per_digit):
            height = int(rng.integers(40, 120))
            ink = styles.draw(styles.skeleton(digit, rng), height, rng, pen=height * rng.uniform(0.05, 0.16),
                              aspect=rng.uniform(0.45, 0.8), slant=rng.uniform(-0.15, 0.35))
            images.append(fit_to_mnist((ink >= 0.5).astype(np.uint8), MNIST_STROKE_FRACTION * rng.uniform(0.8, 1.4)))
            targets.append(digit)
    return np.stack(images), np.array(targets, np.int64)
