"""Digits drawn from fonts, in the styles MNIST lacks: closed-top 4s, 1s with a flag, crossed 7s.

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


# Pen-stroke skeletons of digit shapes common in Europe and Asia but rare in MNIST, drawn with random
# proportions. Points are (x, y) in a unit box, y down; a skeleton is a list of strokes.
Skeleton = list[list[tuple[float, float]]]


def _flagged_one(rng: np.random.Generator) -> Skeleton:
    top = (rng.uniform(0.55, 0.7), 0.0)
    flag = (top[0] - rng.uniform(0.2, 0.4), rng.uniform(0.3, 0.55))  # steeper than any 7's bar
    strokes = [[flag, top, (top[0] - rng.uniform(-0.05, 0.1), 1.0)]]
    if rng.random() < 0.3:  # a base
        strokes.append([(top[0] - 0.3, 1.0), (top[0] + 0.3, 1.0)])
    return strokes


def _closed_four(rng: np.random.Generator) -> Skeleton:
    stem_x = rng.uniform(0.55, 0.75)
    bar_y = rng.uniform(0.4, 0.7)
    overhang = rng.uniform(0.05, 0.3)
    left = (rng.uniform(0.0, 0.15), bar_y)
    if rng.random() < 0.5:  # one stroke: up the stem, down the diagonal, along the bar
        return [[(stem_x, rng.uniform(0.85, 1.0)), (stem_x, 0.0), left, (stem_x + overhang, bar_y)]]
    return [[(stem_x, 0.0), left, (stem_x + overhang, bar_y)], [(stem_x, rng.uniform(0.0, 0.2)), (stem_x, 1.0)]]


def _crossed_seven(rng: np.random.Generator) -> Skeleton:
    bottom = (rng.uniform(0.3, 0.55), 1.0)
    strokes = [[(0.05, rng.uniform(0.0, 0.1)), (0.9, 0.0), bottom]]
    if rng.random() < 0.6:  # the cross bar
        y = rng.uniform(0.45, 0.6)
        strokes.append([(0.3, y), (0.8, y - 0.02)])
    return strokes


STYLE_GENERATORS = {1: _flagged_one, 4: _closed_four, 7: _crossed_seven}


def style_digits(per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hand-drawn-looking digits in styles MNIST lacks: wobbly strokes of random width and slant."""
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for digit, generate in STYLE_GENERATORS.items():
        for _ in range(per_digit):
            canvas = np.zeros((CANVAS, CANVAS), np.uint8)
            width = rng.uniform(50, 110)
            for stroke in generate(rng):
                points = np.array(stroke) + rng.normal(0, 0.03, (len(stroke), 2))
                points = (20 + points * np.array([width, 120])).astype(np.int32)
                cv2.polylines(canvas, [points], False, 1, int(rng.integers(4, 12)), cv2.LINE_AA)
            images.append(fit_to_mnist(canvas, MNIST_STROKE_FRACTION * rng.uniform(0.8, 1.4), rng.uniform(-0.3, 0.2)))
            targets.append(digit)
    return np.stack(images), np.array(targets, np.int64)
