"""From strokes to digits: group the strokes of each digit, drop separators, split touching digits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recognizer.ink import Ink
from recognizer.mnist_format import fit_to_mnist, stroke_width

MAX_DIGITS = 12
SPLIT_ASPECT = 1.0  # groups wider than tall may be several touching digits
SPLIT_PRICE = 0.05  # log-belief each digit of a split costs, so that extra cuts must earn their place
WIDEST_DIGIT = 1.5  # no single handwritten digit is much wider than tall, whatever the model thinks
FLATTEST_DIGIT = 2.5  # ...except a squashed 0 or 2 written on its own, which still stays below this
NECK_STROKES = 1.5  # a cut between touching digits crosses at most about this many strokes
GRID_STEP = 0.1  # extra cut candidates every this many heights, for cursive that never thins
# Real photos need at most ~1,000 pieces read per group (cheques); noise asked for 13,000 (24 s, +240 MB).
MAX_SPANS = 1200

# Given MNIST images (N, 28, 28), how much the model believes in each (N,), e.g. its top probability.
Scorer = Callable[[np.ndarray], np.ndarray]


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


def strokes(ink: Ink) -> list[_Blob]:
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
    beside its stem): neighbouring digits of a number share their height band and size. A line
    under the writing (an underline, a rule) belongs to no digit, however much it overlaps them.
    """
    if _underlines(left, right) or _underlines(right, left):
        return False
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


def _underlines(line: _Blob, other: _Blob) -> bool:
    """``line`` is a thin flat stroke lying under ``other`` (not a 5's or a 7's bar, which sit on top)."""
    thickness = line.area / max(1, line.w)
    flat_and_thin = line.w > 3 * line.h and line.h < 1.6 * thickness
    return flat_and_thin and line.y >= other.y + 0.8 * other.h


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
    if not spans or len(spans) > MAX_SPANS:  # too many candidate pieces: texture, not writing
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
