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
a photo at the smallest decoded size where its writing is legible.
Training runs this same function on synthetic photos, so the networks learn from exactly the
pieces the recognizer will show them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.decode import decode_image, jpeg_pixels, open_image
from recognizer.ink import Ink, find_ink
from recognizer.mnist_format import MNIST_STROKE_FRACTION, PREPROCESSING_VERSION, fit_to_mnist
from recognizer.segment import WIDEST_PIECE, Candidates, Stroke, WritingSize, box_around, candidates, measure, strokes

__all__ = ["MNIST_STROKE_FRACTION", "PREPROCESSING_VERSION", "Found", "find_candidates", "fit_to_mnist"]

MAX_INK_FRACTION = 0.5  # more "ink" than this is texture or a dark photo, not writing
MAX_PIECES = 200  # connected pieces of ink; photos of writing have a few dozen at most
SMALL_DIGIT_PX = 40  # writing shorter than this is read again in a larger decode
THIN_STROKE_PX = 1.3  # ...and so is writing whose pen is thinner than this: faint, and easily lost in shadows
GLANCE_SIDE = 160  # a first look at a quarter of the working size's pixels (1/8 of a 1280-px JPEG: DC only)
# ...taken in JPEGs up to Telegram's photo size. Decoding at 1/8 still entropy-decodes the whole file, which
# a failed glance (a number) pays twice: about 1 ms here, but 70 ms more for an 8000x6000 page (measured).
GLANCE_MAX_PIXELS = 1280 * 1280
DETAIL_SIDE = 1024
# Digits shorter than this in the photo itself are no writing anyone means to be read (MNIST's are 20 px; a
# digit 5 mm tall on a whole A4 page sent at 1280 px is 21), but specks and grain, which the networks would
# otherwise read, even sure: of 600 blank synthetic photos (bench/blank_photos.py) 116 were read as a number
# and 2 as sure ("1", 99%); with this bound 85, none sure, at most 55%. The smallest dev writing is 17 px.
MIN_WRITING_PX = 10


@dataclass
class Look:
    """One decoded size's ink, its strokes and the writing's size, before any cutting."""

    ink: Ink
    strokes: list[Stroke]
    size: WritingSize


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


def _look(grey: np.ndarray) -> Look | None:
    """The ink and strokes of one decoded image, and how large its writing is; None for texture or nothing."""
    ink = find_ink(grey)
    # Writing puts its ink into a few strokes; texture (fur, grain, noise) shatters into thousands.
    if ink.fraction > MAX_INK_FRACTION or np.count_nonzero(ink.stroke) > MAX_PIECES:
        return None
    found = strokes(ink)
    if not found:
        return None
    return Look(ink, found, measure(ink, found))


def _candidates(look: Look | None) -> Candidates | None:
    return None if look is None else candidates(look.ink, look.strokes, look.size)


def find_candidates(image: bytes) -> Found:
    """Candidates at the smallest size where the writing is legible (``_find``), and none where the
    "writing" is smaller in the photo itself than any digit written to be read (MIN_WRITING_PX).

    Raises:
        recognizer.decode.ImageDecodeError: the bytes are not a usable picture.
    """
    found = _find(image)
    if found.candidates is not None and found.candidates.digit_height * found.to_original < MIN_WRITING_PX:
        return Found(None, found.offset, found.to_original, found.shape)
    return found


def _find(image: bytes) -> Found:
    """The candidates at the smallest size where the writing is legible: a glance, the working size, or detail.

    Finding the ink costs its pixels; cutting and fitting cost the same at any size. So in a JPEG of up
    to GLANCE_MAX_PIXELS (Telegram sends every photo as one; other formats are decoded whole at every
    size, so a glance would be a third full decode), writing that is legible at GLANCE_SIDE (a quarter
    of the working size's pixels) and no wider than one digit, where the ink search is most of the
    cost, is read there: a close-up digit costs about 40% less. A number is not, even when legible: the
    glance saves it little, and on the dev cheques read there some lost digits; the look costs it about
    3 ms. Everything else is read at the working size, and writing that comes out small or thin there
    (a number across part of the page, a thin pen far away) is decoded again at DETAIL_SIDE, where only
    the region around the writing is searched. Every size asks the same of the writing (SMALL_DIGIT_PX
    tall, THIN_STROKE_PX wide), decided from the strokes before any piece is cut. A large photo where
    nothing was found is searched whole at DETAIL_SIDE, since faint thin strokes may only show there;
    that costs a second decode, for empty photos only.
    """
    header = open_image(image)
    pixels = jpeg_pixels(header)
    if pixels is not None and pixels <= GLANCE_MAX_PIXELS:
        glance, to_original = decode_image(header, work_side=GLANCE_SIDE)
        if to_original > 1.0:
            look = _look(glance)
            if _legible(look) and _one_digit_wide(look):
                return Found(_candidates(look), (0, 0), to_original, glance.shape)
        header = open_image(image)  # a decoded picture cannot be decoded again at another size
    grey, to_original = decode_image(header)
    look = _look(grey)
    if to_original <= 1.0 or _legible(look):
        return Found(_candidates(look), (0, 0), to_original, grey.shape)
    detailed, to_original_detailed = decode_image(image, work_side=DETAIL_SIDE)
    ratio = to_original / to_original_detailed
    if look is not None:
        x0, y0, x1, y1 = box_around(look.strokes)
        margin = 0.6 * look.size.height
        left, top = max(0, int((x0 - margin) * ratio)), max(0, int((y0 - margin) * ratio))
        right, bottom = int((x1 + margin) * ratio) + 1, int((y1 + margin) * ratio) + 1
    else:
        left, top, right, bottom = 0, 0, detailed.shape[1], detailed.shape[0]
    refound = _candidates(_look(detailed[top:bottom, left:right]))
    if refound is None:
        return Found(_candidates(look), (0, 0), to_original, grey.shape)
    return Found(refound, (left, top), to_original_detailed, detailed.shape)


def _legible(look: Look | None) -> bool:
    return look is not None and look.size.height >= SMALL_DIGIT_PX and look.size.stroke >= THIN_STROKE_PX


def _one_digit_wide(look: Look) -> bool:
    """Whether the writing is no wider than one digit may be: then finding its ink is most of its cost."""
    x0, _, x1, _ = box_around(look.strokes)
    return x1 - x0 <= WIDEST_PIECE * look.size.height
