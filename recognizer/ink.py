"""The ink of a photo: how dark each pixel is against its paper, and which pixels are strokes.

Shadows and uneven light divide out against a local estimate of the paper's brightness; ruled and
grid lines are subtracted; a hysteresis threshold that never drops below a minimum contrast (a
blank page stays blank) nor into the paper's own texture turns the rest into connected strokes.
Everything runs on uint8 images, where OpenCV's vectorised paths are fastest.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_CONTRAST = 56  # weakest ink (darkness relative to the paper, of 255) that can start a stroke
PALE_STROKE_HEIGHT = 0.5  # ink below Otsu's threshold is a stroke when this tall, relative to the tallest stroke
LINE_SEARCH_SIDE = 160  # ruled lines are searched for on a copy this long in their direction
LINE_MIN_STRENGTH = 20  # of 255: fainter runs are paper texture, not lines
FINE_PAPER_STROKES = 2.5  # the fine paper estimate's kernel, in widths of the widest strokes
FINE_KERNEL_PX = 15  # ...run on a copy reduced so that the kernel is at most this many pixels


@dataclass
class Ink:
    """The ink of a photo: strength map, connected pieces above the weak threshold, which are strokes."""

    strength: np.ndarray  # uint8, 0 = paper, 255 = black ink
    labels: np.ndarray  # int32 label of each pixel's piece above the weak threshold (0: paper)
    stats: np.ndarray  # cv2.connectedComponentsWithStats rows for those pieces
    stroke: np.ndarray  # bool per label: the piece holds strong ink, so it is a stroke

    @property
    def fraction(self) -> float:
        """Share of the photo covered by strokes."""
        return float(self.stats[self.stroke, cv2.CC_STAT_AREA].sum()) / self.labels.size


def ink_is_dark(grey: np.ndarray) -> bool:
    """Decide which of ink and paper is darker, from how far the extremes stray from the paper.

    The paper is what the photo's border shows (writing rarely fills the border); the ink is the
    extreme that lies far from it. This holds under gradients and shadows, and for thin pens and
    fat markers alike, where morphological top-hats of a fixed size do not. But a page on a dark
    table shows mostly table at the border, and the page then looked like light ink (127 of 1,500
    synthetic photos; three dev photos, all misread). So the photo's median, which is the page when
    the page fills most of it, has a say too: the ink is light only when both agree, as they do for
    a blackboard or an inverted scan (34 of the 1,500 then go wrong; of the 69 in light ink, 8 against
    the border's 7; measured by ``bench/ink_polarity.py``).
    """
    judged = ink_judged_dark(grey)
    return judged["border"] or judged["median"]


def ink_judged_dark(grey: np.ndarray) -> dict[str, bool]:
    """Whether the ink is darker than the paper, with the paper's level taken from the photo's border
    and from the photo's median: the darkest pixels lie farther below it than the lightest above."""
    h, w = grey.shape
    band = max(1, int(min(h, w) * 0.05))
    border = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(),
                             grey[:, :band].ravel(), grey[:, -band:].ravel()])
    step = max(1, int(np.sqrt(h * w / 10_000)))  # ~10k samples are plenty for three percentiles
    darkest, median, lightest = _percentiles(grey[::step, ::step], 0.5, 50, 99.5)
    papers = {"border": _percentiles(border, 50)[0], "median": median}
    return {name: paper - darkest >= lightest - paper for name, paper in papers.items()}


def _percentiles(values: np.ndarray, *percents: float) -> list[int]:
    """Percentiles (nearest rank) of uint8 values from their histogram: linear time, no sorting."""
    counts = np.cumsum(np.bincount(values.ravel(), minlength=256))
    return [int(np.searchsorted(counts, counts[-1] * p / 100.0)) for p in percents]


def ink_strength(grey: np.ndarray) -> np.ndarray:
    """Relative darkness of each pixel against the local paper brightness, 0 (paper) to 255 (black).

    The paper's brightness is a grey-level closing, which paints over thin dark strokes with the
    paper around them. A first, coarse estimate on a reduced copy evens out light across the photo.
    A closing that wide would also paint over shadows narrower than itself (a finger's shadow) and
    leave them looking like ink, so the paper is estimated again at full size with a kernel a few
    stroke widths wide, measured on the first estimate's ink: shadows wider than a stroke then stay
    paper. All in uint8, where OpenCV's vectorised paths make each step a fraction of a millisecond.
    """
    g = grey if ink_is_dark(grey) else cv2.bitwise_not(grey)  # light ink on dark paper: a blackboard, MNIST
    h, w = g.shape
    scale = min(1.0, 96.0 / max(h, w))
    small = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    k = max(3, int(round(max(small.shape) / 5)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    # Unlike a plain max filter, a closing does not lift the estimate to the brightest grain nearby.
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    # The same Gaussian as cv2.GaussianBlur's, applied as two 1-D passes in floating point: for uint8 and
    # kernels this wide, GaussianBlur's bit-exact fixed-point path is five times slower (within 1 grey level).
    gauss = cv2.getGaussianKernel(k, 0)
    paper = cv2.sepFilter2D(paper, -1, gauss, gauss, borderType=cv2.BORDER_REFLECT_101)
    paper = np.maximum(paper, cv2.dilate(small, np.ones((3, 3), np.uint8)))
    paper = np.maximum(cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR), 16)
    coarse = cv2.divide(cv2.subtract(paper, g), paper, scale=255.0)
    width = max(5.0, FINE_PAPER_STROKES * _widest_stroke(coarse))  # the fine kernel, in pixels
    reduce = min(1.0, FINE_KERNEL_PX / width)  # wide kernels run on a reduced copy: the paper is smooth
    small = g if reduce == 1.0 else cv2.resize(g, (max(1, round(w * reduce)), max(1, round(h * reduce))),
                                               interpolation=cv2.INTER_AREA)
    k = max(3, int(round(width * reduce)) | 1)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    # Smoothing the estimate would carry the bright side of a shadow's edge over the dark side, where
    # it would read as ink; the lower of the smoothed and the unsmoothed estimate never does that.
    paper = np.minimum(cv2.blur(paper, (k, k)), paper)
    if reduce < 1.0:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    paper = np.maximum(paper, 16)
    return cv2.divide(cv2.subtract(paper, g), paper, scale=255.0)


def _widest_stroke(strength: np.ndarray) -> float:
    """How wide the strong ink's widest strokes are, in pixels: twice the 98th percentile of how far its
    pixels lie from the paper. A high percentile, not the mean, so that thin ruled lines or grain sharing
    the photo with a marker's strokes cannot make the paper estimate too narrow to paint over them.
    """
    strong = (strength >= max(_otsu(strength), MIN_CONTRAST)).astype(np.uint8)
    if not strong.any():
        return 0.0
    depth = cv2.distanceTransform(strong, cv2.DIST_L2, 3)
    return 2.0 * _percentiles(np.minimum(depth, 255).astype(np.uint8)[strong > 0], 98)[0] + 1.0


def _otsu(values: np.ndarray) -> int:
    """Otsu's threshold on a uint8 image."""
    threshold, _ = cv2.threshold(values, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return int(threshold) + 1


def remove_lines(strength: np.ndarray) -> np.ndarray:
    """Subtract ruled and grid lines: two or more long parallel runs of ink across the photo.

    A grey-level opening with a long one-dimensional kernel keeps only such runs; subtracting it
    leaves strong ink that crosses a faint line intact. A single long stroke (a 1, a 9's tail, a
    7's bar in a tight crop) is not taken for a line: ruled and squared paper has several.
    The search runs on a copy squeezed along the lines' direction only (a line keeps its strength
    when averaged along itself), which makes it cheap.
    """
    h, w = strength.shape
    cleaned = strength
    for horizontal in (True, False):
        extent, across_extent = (w, h) if horizontal else (h, w)
        squeeze = min(1.0, LINE_SEARCH_SIDE / extent)
        across_squeeze = 0.5 if across_extent >= 200 else 1.0  # lines stay 1 px or more across
        along_size = max(1, round(extent * squeeze))
        across_size = max(1, round(across_extent * across_squeeze))
        length = int(along_size * 0.6)
        if extent * 0.6 < 15 or length < 3:
            continue
        size = (along_size, across_size) if horizontal else (across_size, along_size)
        squeezed = cv2.resize(strength, size, interpolation=cv2.INTER_AREA)
        lines = open_along(squeezed, length, axis=1 if horizontal else 0)
        runs = (lines > LINE_MIN_STRENGTH).astype(np.uint8)
        if not runs.any():  # most photos: no long run at all, nothing to measure
            continue
        _, _, stats, _ = _connected_pieces(runs)
        along = stats[1:, cv2.CC_STAT_WIDTH if horizontal else cv2.CC_STAT_HEIGHT] / squeeze
        across = stats[1:, cv2.CC_STAT_HEIGHT if horizontal else cv2.CC_STAT_WIDTH] / across_squeeze
        thin_long = (along >= 0.8 * extent) & (across <= 0.05 * across_extent + 2)
        # In a photo of a number (much wider than tall) one line across it is a ruled line or a box edge.
        enough = 1 if horizontal and w > 2 * h else 2
        if np.count_nonzero(thin_long) >= enough:
            lines = cv2.resize(lines, (w, h), interpolation=cv2.INTER_LINEAR)
            # Widen slightly so the anti-aliased fringe of the line goes too.
            lines = cv2.dilate(lines, np.ones((3, 1) if horizontal else (1, 3), np.uint8))
            cleaned = cv2.subtract(cleaned, lines)
    return cleaned


def open_along(image: np.ndarray, length: int, axis: int, outside: int | None = None) -> np.ndarray:
    """``cv2.morphologyEx(image, cv2.MORPH_OPEN, kernel)`` for a flat kernel of ``length`` pixels along
    ``axis`` (1: a row of ones, 0: a column), anchored where OpenCV anchors it. Pixels beyond the image
    count as ``outside`` (OpenCV's BORDER_CONSTANT value) or, when None, not at all (OpenCV's default).

    OpenCV's cost grows with the kernel's length (over 100 us for 96 pixels on a 160-px photo, measured);
    minima and maxima over doubling windows cost log2(length) passes and give the same pixels.
    """
    if axis == 1:  # runs along rows are combined faster as columns of the transposed image
        return np.ascontiguousarray(open_along(np.ascontiguousarray(image.T), length, 0, outside).T)
    eroded = _running(image, length, np.minimum, np.iinfo(image.dtype).max if outside is None else outside)
    return _running(eroded, length, np.maximum, 0 if outside is None else outside)


def _running(image: np.ndarray, length: int, combine: np.ufunc, fill: int) -> np.ndarray:
    """``combine`` (minimum or maximum) down each column over the window of ``length`` pixels that OpenCV
    centres on each pixel; beyond the image, ``fill``."""
    size = image.shape[0]
    padded = np.full((size + length - 1, *image.shape[1:]), fill, image.dtype)
    padded[length // 2 : length // 2 + size] = image
    table, width = padded, 1  # table[i] combines the ``width`` pixels from row i down
    while 2 * width <= length:
        table = combine(table[:-width], table[width:])
        width *= 2
    return combine(table[:size], table[length - width : length - width + size])


def _connected_pieces(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """8-connected components with stats; the block-based (BBDT) algorithm measured fastest here."""
    return cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)


def binarise(strength: np.ndarray) -> Ink:
    """Hysteresis threshold: strong pixels start strokes, weaker connected pixels extend them.

    The weak threshold follows the paper's own texture (a cheque's security pattern, grain, JPEG
    noise) so that faint parts of a stroke are kept but the background never links strokes together.
    """
    high = max(_otsu(strength), MIN_CONTRAST)
    sample = strength[:: max(1, strength.shape[0] // 160), :: max(1, strength.shape[1] // 160)]
    background = sample[sample < high]
    texture = _percentiles(background, 90)[0] if background.size else 0
    low = int(min(high, max(high * 0.45, texture * 1.3)))
    count, labels, stats, _ = _connected_pieces((strength >= low).astype(np.uint8))
    seeded = np.bincount(labels[strength >= high], minlength=count) > 0
    seeded[0] = False
    if high > MIN_CONTRAST and seeded.any():
        # Otsu's threshold splits the darkest ink from the rest: a digit in a paler pen than its neighbours
        # (pencil beside ink, a lighter hand) may lie wholly below it, and the number was then read without
        # it, and sure. Such a digit still reaches the minimum contrast, and it is tall, which texture and
        # specks are not.
        pale = np.bincount(labels[strength >= MIN_CONTRAST], minlength=count) > 0
        pale[0] = False
        tallest = stats[seeded, cv2.CC_STAT_HEIGHT].max()
        seeded |= pale & (stats[:, cv2.CC_STAT_HEIGHT] >= PALE_STROKE_HEIGHT * tallest)
    return Ink(strength=strength, labels=labels, stats=stats, stroke=seeded)


def find_ink(grey: np.ndarray) -> Ink:
    """Ink map and mask of a grey photo, with lines removed."""
    return binarise(remove_lines(ink_strength(grey)))
