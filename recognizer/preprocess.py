"""From photo bytes to candidate digits in MNIST form: find the ink, clean it, cut it into pieces.

MNIST digits were made by fitting each digit into a 20x20 box (aspect ratio kept, anti-aliased)
and moving its centre of mass to the centre of a 28x28 field. A model trained on MNIST is only
right on photos brought into exactly that form, so every step here aims at it:

1. ink map: divide by a local estimate of the paper's brightness (evens out light and shadows),
   whichever of ink and paper is darker;
2. binarise with hysteresis around an Otsu threshold that never drops below a minimum contrast
   (a blank page stays blank);
3. remove ruled and grid lines, specks and the paper's edges;
4. cut the strokes into atoms and list every run of atoms that could be one digit;
5. normalise each candidate's stroke width, fit the 20x20 box, centre by mass in 28x28.

The steps live in ``ink`` (1-3), ``segment`` (4) and ``mnist_format`` (5); this module runs them on
a photo, at the working size, and again on a sharper decode where the writing came out small.
Training runs this same function on synthetic photos, so the networks learn from exactly the
pieces the recognizer will show them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.decode import decode_image
from recognizer.ink import find_ink
from recognizer.mnist_format import MNIST_STROKE_FRACTION, PREPROCESSING_VERSION, fit_to_mnist
from recognizer.segment import Candidates, candidates, strokes

__all__ = ["MNIST_STROKE_FRACTION", "PREPROCESSING_VERSION", "Found", "find_candidates", "fit_to_mnist"]

MAX_INK_FRACTION = 0.5  # more "ink" than this is texture or a dark photo, not writing
MAX_PIECES = 200  # connected pieces of ink; photos of writing have a few dozen at most
SMALL_DIGIT_PX = 40  # writing shorter than this at the working size is searched again in a sharper decode
THIN_STROKE_PX = 1.3  # ...and so is writing whose pen is thinner than this: faint, and easily lost in shadows
DETAIL_SIDE = 1024


@dataclass
class Found:
    """The candidates of a photo and where the image they were cut from lies in the original photo."""

    candidates: Candidates | None
    offset: tuple[int, int]  # (left, top) of the searched image within the decoded image
    to_original: float  # multiply searched-image pixels (plus offset) by this for original pixels
    shape: tuple[int, int]  # (height, width) of the decoded image that was searched

    def original_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box in the searched image, in the upright original photo's pixels."""
        x, y, w, h = box
        left, top = self.offset
        s = self.to_original
        return (int(round((x + left) * s)), int(round((y + top) * s)), int(round(w * s)), int(round(h * s)))


def _search(grey: np.ndarray) -> Candidates | None:
    ink = find_ink(grey)
    # Writing puts its ink into a few strokes; texture (fur, grain, noise) shatters into thousands.
    if ink.fraction > MAX_INK_FRACTION or np.count_nonzero(ink.stroke) > MAX_PIECES:
        return None
    return candidates(ink, strokes(ink))


def find_candidates(image: bytes) -> Found:
    """Candidates at the fast working size; where the writing comes out small, from a sharper decode.

    Most photos are read at the working size. Writing that is small or thin in a large photo (a
    number across part of the page, a thin pen far away) is decoded again at DETAIL_SIDE and only the
    region around the writing is searched, so detail is spent only where it is needed. A large
    photo where nothing was found is searched whole at DETAIL_SIDE, since faint thin strokes may
    only show there; that costs a second decode, for empty photos only.

    Raises:
        recognizer.decode.ImageDecodeError: the bytes are not a usable picture.
    """
    grey, to_original = decode_image(image)
    found = _search(grey)
    if to_original <= 1.0 or (found is not None and found.digit_height >= SMALL_DIGIT_PX
                              and found.stroke_width >= THIN_STROKE_PX):
        return Found(found, (0, 0), to_original, grey.shape)
    detailed, to_original_detailed = decode_image(image, work_side=DETAIL_SIDE)
    ratio = to_original / to_original_detailed
    if found is not None:
        boxes = np.array([p.box for p in found.pieces if p.stop - p.start == 1])
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
        margin = 0.6 * found.digit_height
        left, top = max(0, int((x0 - margin) * ratio)), max(0, int((y0 - margin) * ratio))
        right, bottom = int((x1 + margin) * ratio) + 1, int((y1 + margin) * ratio) + 1
    else:
        left, top, right, bottom = 0, 0, detailed.shape[1], detailed.shape[0]
    refound = _search(detailed[top:bottom, left:right])
    if refound is None:
        return Found(found, (0, 0), to_original, grey.shape)
    return Found(refound, (left, top), to_original_detailed, detailed.shape)
