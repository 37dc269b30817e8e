"""From a grey photo to MNIST-format digits: find the ink, clean it, split it into digits, fit each one.

MNIST digits were made by fitting each digit into a 20x20 box (aspect ratio kept, anti-aliased)
and moving its centre of mass to the centre of a 28x28 field. A model trained on MNIST is only
right on photos brought into exactly that form, so every step here aims at it:

1. ink map: divide by a local estimate of the paper's brightness (evens out light and shadows),
   whichever of ink and paper is darker;
2. binarise with hysteresis around an Otsu threshold that never drops below a minimum contrast
   (a blank page stays blank);
3. remove ruled and grid lines, specks and the paper's edges;
4. group strokes into digits (a 5's detached bar stays with its 5), order them left to right and
   drop separators and underlines;
5. normalise the stroke width, fit the 20x20 box, centre by mass in 28x28.

The steps live in ``ink`` (1-3), ``segment`` (4) and ``mnist_format`` (5); this module runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recognizer.ink import find_ink
from recognizer.mnist_format import MNIST_STROKE_FRACTION, PREPROCESSING_VERSION, fit_to_mnist
from recognizer.segment import MAX_DIGITS, Scorer, group_digits, split_touching, strokes

__all__ = ["MNIST_STROKE_FRACTION", "PREPROCESSING_VERSION", "DigitImage", "extract_digits", "fit_to_mnist"]

MAX_INK_FRACTION = 0.5  # more "ink" than this is texture or a dark photo, not writing
MAX_PIECES = 200  # connected pieces of ink; photos of writing have a few dozen at most


@dataclass
class DigitImage:
    """One digit found in the photo: where it is (working-image pixels) and its 28x28 MNIST form."""

    box: tuple[int, int, int, int]  # x, y, width, height
    mnist: np.ndarray  # (28, 28) uint8, white ink on black
    ink: np.ndarray = field(repr=False)  # the digit's strokes (1 = ink) at working size, for re-renders


def extract_digits(grey: np.ndarray, score: Scorer | None = None) -> list[DigitImage]:
    """All digits in a grey photo, left to right, each in MNIST format. Empty when there is no writing.

    ``score`` (the classifier's confidence in each of a batch of MNIST images) lets wide groups of
    touching digits be split where the pieces read best; without it they stay whole.
    """
    ink = find_ink(grey)
    # Writing puts its ink into a few strokes; texture (fur, grain, noise) shatters into thousands.
    if ink.fraction > MAX_INK_FRACTION or np.count_nonzero(ink.stroke) > MAX_PIECES:
        return []
    labels = ink.labels
    blobs = strokes(ink)
    groups = group_digits(blobs)
    if not groups or len(groups) > MAX_DIGITS:
        return []
    found: list[DigitImage] = []
    tallest = max(g.h for g in groups)
    for g in groups:
        ink_crop = np.isin(labels[g.y : g.y + g.h, g.x : g.x + g.w], g.labels).astype(np.uint8)
        pieces = split_touching(ink_crop, score, alone=len(groups) == 1) if score is not None else [(0, g.w)]
        for start, stop in pieces:
            piece = ink_crop[:, start:stop]
            rows = np.flatnonzero(piece.any(axis=1))
            if rows.size == 0:
                continue
            box = (g.x + start, g.y + int(rows[0]), stop - start, int(rows[-1] - rows[0] + 1))
            if box[3] < 0.45 * tallest:  # a separator that touched a digit, cut off again
                continue
            found.append(DigitImage(box=box, mnist=fit_to_mnist(piece), ink=piece))
    return found[:MAX_DIGITS]
