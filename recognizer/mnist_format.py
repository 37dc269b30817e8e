"""MNIST's exact format: how a binary digit becomes the 28x28 input the model expects.

MNIST digits were made by fitting each digit into a 20x20 box (aspect ratio kept, anti-aliased)
and moving its centre of mass to the centre of a 28x28 field. A model trained on MNIST is only
right on inputs brought into exactly that form; the stroke width is also normalised to MNIST's.

Bump PREPROCESSING_VERSION whenever this form changes: training renders synthetic digits through
``fit_to_mnist``, the model manifest records the version, and the recognizer refuses a model
trained for another one.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

PREPROCESSING_VERSION = "2"

MNIST_SIZE = 28
MNIST_BOX = 20
# Stroke width of binarised MNIST digits (2 * area / perimeter), as a fraction of the 20-px box:
# median 2.25 px measured on the MNIST test set.
MNIST_STROKE_FRACTION = 2.25 / MNIST_BOX
RENDER_SIDE = 80  # the digit is reshaped at this size, then reduced to 20 px (anti-aliasing)


def fit_to_mnist(ink: np.ndarray, stroke_fraction: float = MNIST_STROKE_FRACTION, slant: float = 0.0) -> np.ndarray:
    """A binary digit (any size, 1 = ink) in MNIST form: 20-px box, normalised stroke, centred by mass.

    The digit is reshaped at RENDER_SIDE so that stroke-width changes are fine-grained, then reduced
    with area averaging, which gives MNIST's anti-aliased edges. ``stroke_fraction`` is the stroke
    width relative to the box and ``slant`` a horizontal shear, for rendering variants. Everything
    runs on uint8 images, where OpenCV is fastest: the recognizer fits every candidate piece.
    """
    return fit_measured(ink, stroke_fraction, slant)[0]


def fit_measured(ink: np.ndarray, stroke_fraction: float = MNIST_STROKE_FRACTION,
                 slant: float = 0.0) -> tuple[np.ndarray, float]:
    """``fit_to_mnist``, and the digit's stroke width before normalising, in the input's pixels."""
    digit = _trim(np.asarray(ink, np.uint8))
    if digit is None:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8), 0.0
    enlarge = RENDER_SIDE / max(digit.shape) > 1
    big = _scale_longest_side(digit * np.uint8(255), RENDER_SIDE, cv2.INTER_LINEAR if enlarge else cv2.INTER_AREA)
    room = RENDER_SIDE // 8 + (int(abs(slant) * big.shape[0] / 2) + 1 if slant else 0)
    shape = cv2.copyMakeBorder((big >= 128).astype(np.uint8), room, room, room, room, cv2.BORDER_CONSTANT, value=0)
    if slant:
        rows = shape.shape[0]
        shear = np.float32([[1, slant, -slant * rows / 2], [0, 1, 0]])
        shape = cv2.warpAffine(shape, shear, (shape.shape[1], rows), flags=cv2.INTER_NEAREST)
    width = stroke_width(shape)
    source_width = width * max(digit.shape) / RENDER_SIDE
    shape = _trim(normalise_stroke(shape, stroke_fraction * RENDER_SIDE, width))
    if shape is None:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8), source_width
    return center_by_mass(_scale_longest_side(shape * np.uint8(255), MNIST_BOX, cv2.INTER_AREA)), source_width


def _trim(image: np.ndarray) -> np.ndarray | None:
    """The uint8 image cropped to its ink; None when there is no ink."""
    x, y, w, h = cv2.boundingRect(image)
    if w == 0 or h == 0:
        return None
    return image[y : y + h, x : x + w]


def _scale_longest_side(image: np.ndarray, side: int, interpolation: int) -> np.ndarray:
    h, w = image.shape
    scale = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interpolation)


def normalise_stroke(shape: np.ndarray, target_width: float, width: float | None = None) -> np.ndarray:
    """Thicken or thin the strokes of a binary digit to ``target_width`` pixels (2 * area / perimeter).

    ``width`` is the shape's own stroke width, when the caller has measured it already.
    """
    width = stroke_width(shape) if width is None else width
    if width <= 0:
        return shape
    delta = int(round((target_width - width) / 2))
    if delta == 0:
        return shape
    kernel = _disc(abs(delta))
    if delta > 0:
        return cv2.dilate(shape, kernel)
    thinned = cv2.erode(shape, kernel)
    # Never erase a stroke: where erosion removes a whole part, keep the original for that part.
    return thinned if np.count_nonzero(thinned) >= 0.35 * np.count_nonzero(shape) else shape


@functools.cache
def _disc(radius: int) -> np.ndarray:
    """The elliptic structuring element of this radius; made once, since every candidate piece needs one."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    kernel.flags.writeable = False
    return kernel


def stroke_width(shape: np.ndarray) -> float:
    """Mean stroke width of a binary shape: twice its area over its perimeter."""
    contours, _ = cv2.findContours(shape, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(np.count_nonzero(shape)) / perimeter if perimeter else 0.0


def center_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit (at most 20x20, uint8 0-255) in a 28x28 field with its centre of mass at the centre."""
    h, w = digit.shape
    moments = cv2.moments(digit)
    if moments["m00"] <= 0:
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    else:
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    centre = (MNIST_SIZE - 1) / 2.0
    shift = np.float32([[1, 0, centre - cx], [0, 1, centre - cy]])
    return cv2.warpAffine(digit, shift, (MNIST_SIZE, MNIST_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
