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

Bump PREPROCESSING_VERSION whenever the form of the model's input changes (``fit_to_mnist``: box,
stroke width, centring), since training renders synthetic digits through it: the model manifest
records the version and the recognizer refuses a model trained for another one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

PREPROCESSING_VERSION = "1"

MNIST_SIZE = 28
MNIST_BOX = 20
# Stroke width of binarised MNIST digits (2 * area / perimeter), as a fraction of the 20-px box:
# median 2.25 px measured on the MNIST test set.
MNIST_STROKE_FRACTION = 2.25 / MNIST_BOX
RENDER_SIDE = 80  # the digit is reshaped at this size, then reduced to 20 px (anti-aliasing)

MIN_CONTRAST = 56  # weakest ink (darkness relative to the paper, of 255) that can start a stroke
MAX_INK_FRACTION = 0.5  # more "ink" than this is texture or a dark photo, not writing
MAX_DIGITS = 12
LINE_SEARCH_SIDE = 160  # ruled lines are searched for on a copy this long in their direction
LINE_MIN_STRENGTH = 20  # of 255: fainter runs are paper texture, not lines
MAX_PIECES = 200  # connected pieces of ink; photos of writing have a few dozen at most
SPLIT_ASPECT = 1.0  # groups wider than tall may be several touching digits
SPLIT_PRICE = 0.05  # log-belief each digit of a split costs, so that extra cuts must earn their place
WIDEST_DIGIT = 1.5  # no single handwritten digit is much wider than tall, whatever the model thinks
FLATTEST_DIGIT = 2.5  # ...except a squashed 0 or 2 written on its own, which still stays below this
NECK_STROKES = 1.5  # a cut between touching digits crosses at most about this many strokes
GRID_STEP = 0.1  # extra cut candidates every this many heights, for cursive that never thins

# Given MNIST images (N, 28, 28), how much the model believes in each (N,), e.g. its top probability.
Scorer = Callable[[np.ndarray], np.ndarray]


@dataclass
class DigitImage:
    """One digit found in the photo: where it is (working-image pixels) and its 28x28 MNIST form."""

    box: tuple[int, int, int, int]  # x, y, width, height
    mnist: np.ndarray  # (28, 28) uint8, white ink on black


@dataclass
class Ink:
    """The ink of a photo: strength map, connected pieces above the weak threshold, which are strokes."""

    strength: np.ndarray  # uint8, 0 = paper, 255 = black ink
    labels: np.ndarray  # int32 label of each pixel's piece above the weak threshold (0: paper)
    stats: np.ndarray  # cv2.connectedComponentsWithStats rows for those pieces
    stroke: np.ndarray  # bool per label: the piece holds strong ink, so it is a stroke
    threshold: float  # the weak threshold, as a fraction of full strength

    @property
    def mask(self) -> np.ndarray:
        """uint8 0/1 image of the strokes."""
        return self.stroke[self.labels].astype(np.uint8)

    @property
    def fraction(self) -> float:
        """Share of the photo covered by strokes."""
        return float(self.stats[self.stroke, cv2.CC_STAT_AREA].sum()) / self.labels.size


def ink_is_dark(grey: np.ndarray) -> bool:
    """Decide which of ink and paper is darker, from how far the extremes stray from the paper.

    The paper is what the photo's border shows (writing rarely fills the border); the ink is the
    extreme that lies far from it. This holds under gradients and shadows, and for thin pens and
    fat markers alike, where morphological top-hats of a fixed size do not.
    """
    h, w = grey.shape
    band = max(1, int(min(h, w) * 0.05))
    border = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(),
                             grey[:, :band].ravel(), grey[:, -band:].ravel()])
    paper = _percentiles(border, 50)[0]
    step = max(1, int(np.sqrt(h * w / 10_000)))  # ~10k samples are plenty for two percentiles
    darkest, lightest = _percentiles(grey[::step, ::step], 0.5, 99.5)
    return paper - darkest >= lightest - paper


def _percentiles(values: np.ndarray, *percents: float) -> list[int]:
    """Percentiles (nearest rank) of uint8 values from their histogram: linear time, no sorting."""
    counts = np.cumsum(np.bincount(values.ravel(), minlength=256))
    return [int(np.searchsorted(counts, counts[-1] * p / 100.0)) for p in percents]


def ink_strength(grey: np.ndarray) -> np.ndarray:
    """Relative darkness of each pixel against the local paper brightness, 0 (paper) to 255 (black).

    The paper's brightness is a grey-level closing (which removes the thin dark strokes) taken on a
    reduced copy, so shadows and uneven light divide out at little cost. All in uint8, where
    OpenCV's vectorised paths make each step a fraction of a millisecond.
    """
    g = grey if ink_is_dark(grey) else cv2.bitwise_not(grey)  # light ink on dark paper: a blackboard, MNIST
    h, w = g.shape
    scale = min(1.0, 96.0 / max(h, w))
    small = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    k = max(3, int(round(max(small.shape) / 5)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    # Ink is dark and thin: a closing paints over it with the surrounding paper, and unlike a plain
    # max filter it does not lift the estimate to the brightest grain nearby.
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(paper, (k, k), 0)
    paper = np.maximum(paper, cv2.dilate(small, np.ones((3, 3), np.uint8)))
    paper = np.maximum(cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR), 16)
    return cv2.divide(cv2.subtract(paper, g), paper, scale=255.0)


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
        kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
        lines = cv2.morphologyEx(squeezed, cv2.MORPH_OPEN, kernel)
        _, _, stats, _ = _connected_pieces((lines > LINE_MIN_STRENGTH).astype(np.uint8))
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
    return Ink(strength=strength, labels=labels, stats=stats, stroke=seeded, threshold=low / 255.0)


@dataclass
class _Blob:
    x: int
    y: int
    w: int
    h: int
    area: int
    labels: list[int]

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def merge(self, other: _Blob) -> _Blob:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return _Blob(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y,
                     self.area + other.area, self.labels + other.labels)


def _components(ink: Ink) -> list[_Blob]:
    """The strokes, without specks and without the paper's edges."""
    h, w = ink.labels.shape
    blobs = [_Blob(*(int(v) for v in ink.stats[i, :5]), [int(i)]) for i in np.flatnonzero(ink.stroke)]
    blobs = [b for b in blobs if not _is_edge_artifact(b, w, h)]
    if not blobs:
        return []
    largest = max(b.area for b in blobs)
    min_area = max(3, 0.04 * largest, 1e-5 * h * w)
    return [b for b in blobs if b.area >= min_area]


def _is_edge_artifact(blob: _Blob, w: int, h: int) -> bool:
    """Not writing: a band across the whole photo (the paper's edge, a table, a rule) or a frame.

    A thin band across the full width is never part of a digit. A band down the full height is only
    taken for an edge when it hugs the left or right border: in a tight crop a 1 looks the same.
    """
    fill = blob.area / float(blob.w * blob.h)
    across = blob.w >= 0.9 * w and blob.h <= 0.12 * h
    along_left_or_right = (blob.x == 0 or blob.right == w) and blob.h >= 0.9 * h and blob.w <= 0.15 * w
    frame = blob.w >= 0.95 * w and blob.h >= 0.95 * h and fill < 0.25
    return across or along_left_or_right or frame


def _belong_together(left: _Blob, right: _Blob) -> bool:
    """Whether two stroke groups, ``right`` starting at or after ``left``, are parts of one digit.

    Strokes stacked above one another (a 5's bar, a 7's bar) overlap a lot horizontally. Parts
    side by side belong together when they nearly touch and either occupy different heights (a 9's
    loop and its tail) or one is a short but substantial part of the other (an open 4's corner
    beside its stem): neighbouring digits of a number share their height band and size.
    """
    overlap = min(left.right, right.right) - max(left.x, right.x)
    if overlap >= 0.5 * min(left.w, right.w):
        return True
    height = max(left.bottom, right.bottom) - min(left.y, right.y)
    if -overlap > 0.15 * height:
        return False
    small, big = sorted((left, right), key=lambda b: b.h)
    if small.w > 2.5 * small.h:  # a dash or an underline next to a digit
        return False
    shared = min(left.bottom, right.bottom) - max(left.y, right.y)
    if shared < 0.6 * small.h:
        return True
    return small.h < 0.5 * big.h and small.area >= 0.25 * big.area


def group_digits(blobs: list[_Blob]) -> list[_Blob]:
    """Merge strokes of the same digit, order left to right, drop separators and underlines."""
    groups: list[_Blob] = []
    for blob in sorted(blobs, key=lambda b: b.x):
        if groups and _belong_together(groups[-1], blob):
            groups[-1] = groups[-1].merge(blob)
        else:
            groups.append(blob)
    if not groups:
        return []
    tallest = max(g.h for g in groups)
    return [g for g in groups if not _is_separator(g, tallest)]


def _is_separator(group: _Blob, tallest: int) -> bool:
    """Dots, commas, dashes and underlines: too low, or a flat band only a stroke or two thick.

    A flat group that is several strokes thick (three zeros written together) is not a separator.
    """
    thickness = group.area / max(1, group.w)  # ink per column: about the stroke width for a dash
    return group.h < 0.45 * tallest or (group.w > 2.5 * group.h and group.h < 1.6 * thickness)


def fit_to_mnist(ink: np.ndarray, stroke_fraction: float = MNIST_STROKE_FRACTION, slant: float = 0.0) -> np.ndarray:
    """A binary digit (any size, 1 = ink) in MNIST form: 20-px box, normalised stroke, centred by mass.

    The digit is reshaped at RENDER_SIDE so that stroke-width changes are fine-grained, then reduced
    with area averaging, which gives MNIST's anti-aliased edges. ``stroke_fraction`` is the stroke
    width relative to the box and ``slant`` a horizontal shear, for rendering variants.
    """
    digit = _trim(ink)
    if digit is None:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
    enlarge = RENDER_SIDE / max(digit.shape) > 1
    big = _scale_longest_side(digit, RENDER_SIDE, cv2.INTER_LINEAR if enlarge else cv2.INTER_AREA)
    shape = np.pad((big >= 0.5).astype(np.uint8), RENDER_SIDE // 4)
    if slant:
        rows = shape.shape[0]
        shear = np.float32([[1, slant, -slant * rows / 2], [0, 1, 0]])
        shape = cv2.warpAffine(shape, shear, (shape.shape[1], rows), flags=cv2.INTER_NEAREST)
    shape = _trim(normalise_stroke(shape, stroke_fraction * RENDER_SIDE))
    if shape is None:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
    return center_by_mass(_scale_longest_side(shape, MNIST_BOX, cv2.INTER_AREA))


def _trim(image: np.ndarray) -> np.ndarray | None:
    """The image cropped to its ink, as float32; None when there is no ink."""
    ys, xs = np.nonzero(image)
    if len(ys) == 0:
        return None
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)


def _scale_longest_side(image: np.ndarray, side: int, interpolation: int) -> np.ndarray:
    h, w = image.shape
    scale = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interpolation)


def normalise_stroke(shape: np.ndarray, target_width: float) -> np.ndarray:
    """Thicken or thin the strokes of a binary digit to ``target_width`` pixels (2 * area / perimeter)."""
    width = stroke_width(shape)
    if width <= 0:
        return shape
    delta = int(round((target_width - width) / 2))
    if delta == 0:
        return shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(delta) + 1, 2 * abs(delta) + 1))
    if delta > 0:
        return cv2.dilate(shape, kernel)
    thinned = cv2.erode(shape, kernel)
    # Never erase a stroke: where erosion removes a whole part, keep the original for that part.
    return thinned if np.count_nonzero(thinned) >= 0.35 * np.count_nonzero(shape) else shape


def stroke_width(shape: np.ndarray) -> float:
    """Mean stroke width of a binary shape: twice its area over its perimeter."""
    contours, _ = cv2.findContours(shape, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(np.count_nonzero(shape)) / perimeter if perimeter else 0.0


def center_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit (at most 20x20, floats 0-1) in a 28x28 field with its centre of mass at the centre."""
    total = float(digit.sum())
    h, w = digit.shape
    if total <= 0:
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    else:
        cy = float((digit.sum(axis=1) * np.arange(h)).sum() / total)
        cx = float((digit.sum(axis=0) * np.arange(w)).sum() / total)
    centre = (MNIST_SIZE - 1) / 2.0
    shift = np.float32([[1, 0, centre - cx], [0, 1, centre - cy]])
    field = cv2.warpAffine(digit, shift, (MNIST_SIZE, MNIST_SIZE), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(field * 255.0 + 0.5, 0, 255).astype(np.uint8)


def find_ink(grey: np.ndarray) -> Ink:
    """Ink map and mask of a grey photo, with lines removed."""
    return binarise(remove_lines(ink_strength(grey)))


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
    blobs = _components(ink)
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
            found.append(DigitImage(box=box, mnist=fit_to_mnist(piece)))
    return found[:MAX_DIGITS]


def split_touching(ink: np.ndarray, score: Scorer, alone: bool = False) -> list[tuple[int, int]]:
    """Column ranges of the digits in one group of strokes, which may hold several touching digits.

    A group wider than tall may be several digits. Candidate cuts are the columns where the ink
    thins to about one stroke (where touching digits meet) and, for cursive writing that never thins,
    a regular grid. Every run of columns between two candidates that is about digit-wide is read by
    the model, and dynamic programming picks the split whose pieces the model believes most, less a
    small price per digit. A group may stay whole only while it is not wider than a digit is
    written (``alone`` in the photo, a squashed 0 or 2 may be wider).
    """
    h, w = ink.shape
    if w <= SPLIT_ASPECT * h:
        return [(0, w)]
    columns = ink.sum(axis=0).astype(np.float32)
    stroke = max(1.0, stroke_width(ink))
    margin = max(2, int(0.2 * h))
    thin = [c for c in range(margin, w - margin) if columns[c] <= columns[c - 1] and columns[c] <= columns[c + 1]
            and columns[c] <= NECK_STROKES * stroke]
    grid = list(range(margin, w - margin, max(2, int(GRID_STEP * h))))
    points = [0, *sorted(set(thin) | set(grid)), w]
    widest = (FLATTEST_DIGIT if alone else WIDEST_DIGIT) * h

    spans = [(i, j) for i in range(len(points)) for j in range(i + 1, len(points))
             if 0.2 * h <= points[j] - points[i] <= 1.3 * h or (i == 0 and j == len(points) - 1)]
    spans = [(i, j) for i, j in spans if not (i == 0 and j == len(points) - 1) or w <= widest]
    if not spans:
        return [(0, w)]
    images = np.stack([fit_to_mnist(ink[:, points[i] : points[j]]) for i, j in spans])
    belief = dict(zip(spans, np.log(np.clip(score(images), 1e-6, 1.0))))
    best: dict[int, tuple[float, list[tuple[int, int]]]] = {0: (0.0, [])}
    for j in range(1, len(points)):
        options = [(best[i][0] + belief[(i, j)] - SPLIT_PRICE, best[i][1] + [(points[i], points[j])])
                   for i in range(j) if i in best and (i, j) in belief]
        if options:
            best[j] = max(options, key=lambda option: option[0])
    last = len(points) - 1
    return best[last][1] if last in best else [(0, w)]
