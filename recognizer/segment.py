"""From strokes to candidate digits: every plausible way to cut the writing into pieces.

Nothing here decides what is a digit. The strokes are cut into small *atoms* (whole strokes, and
slices of wide strokes where touching digits may meet), ordered left to right, and every run of
neighbouring atoms that could be one digit becomes a candidate *piece*. Each piece is brought into
MNIST form and described by a few numbers about its shape and surroundings; the networks then
say which pieces are digits (``recognizer.reading`` keeps the best-believed way through them).
Pieces of a digit, two digits at once, separators, specks, shadows and the paper's edge are all
candidates too: telling them apart is learned (``training.pieces``), not written here as rules.
The exceptions are what cannot be writing at all: specks, bands across the whole photo, frames, and a
region many pens thick along the photo's border (a table, a shadow), which would otherwise set the
writing's size.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.ink import Ink, open_along
from recognizer.mnist_format import fit_measured, stroke_width

MAX_ATOMS = 90  # more than this is texture or scribble, not a number
MAX_ATOMS_PER_PIECE = 10
WIDEST_PIECE = 2.2  # in digit heights: no digit is wider (a 2 with a long foot), so no candidate either
SLANTS = np.linspace(-0.3, 0.8, 12)  # shears tried when measuring how far the writing leans
SHORTEST_DIGIT = 0.45  # in digit heights: a run of atoms lower than this is no digit
LINE_LENGTH = 0.8  # horizontal runs of ink at least this long (in digit heights) and...
LINE_THICKNESS = 2.5  # ...thinner than this many pen widths are strokes of their own (underlines)
CUT_WIDER_THAN = 0.75  # strokes wider than this (in digit heights) may hold touching digits
NECK_STROKES = 1.5  # a cut between touching digits crosses at most about this many strokes
NECK_REACH = 0.12  # ...and is the thinnest column within this many digit heights either side
GRID_STEP = 0.21  # extra cut candidates every this many digit heights, for cursive that never thins
CONTEXT_ROWS, CONTEXT_COLS = 12, 20  # the thumbnail of the ink around a piece
CONTEXT_HEIGHT, CONTEXT_WIDTH = 1.6, 2.6  # ...covering this many digit heights around its centre
# A stroke along this share of the photo's shorter side of its border, more than BACKGROUND_PENS pens thick,
# is a table or a shadow beyond the paper, not writing, when beside it there is writing at least
# BACKGROUND_WRITING as tall as the region and either the region fills BACKGROUND_SOLIDITY of its convex hull,
# or it runs along BACKGROUND_SIDES times the shorter side, two such strokes of writing are beside it and
# BACKGROUND_THICK_SHARE of its ink is in its thick parts.
BACKGROUND_BORDER = 0.3
BACKGROUND_PENS = 3.0
BACKGROUND_WRITING = 0.1
BACKGROUND_SOLIDITY = 0.8
BACKGROUND_SIDES = 1.0
BACKGROUND_THICK_SHARE = 0.5
SHAPE_FEATURES = 19
# The writing as one small picture (``writing_image``): kept with a stored answer so that a correction of the
# count of digits can teach the cutting later. Its digits are as tall as MNIST's (20 px), within a bounded size.
WRITING_DIGIT_PX = 20
WRITING_MARGIN_PX = 4
WRITING_MAX_ROWS, WRITING_MAX_COLS = 96, 768
FEATURE_COUNT = SHAPE_FEATURES + CONTEXT_ROWS * CONTEXT_COLS
# The thumbnail's cell edges around a piece's centre, in digit heights.
_CONTEXT_STEPS_X = np.linspace(-0.5, 0.5, CONTEXT_COLS + 1) * CONTEXT_WIDTH
_CONTEXT_STEPS_Y = np.linspace(-0.5, 0.5, CONTEXT_ROWS + 1) * CONTEXT_HEIGHT


@dataclass
class Stroke:
    """One connected piece of ink: its label in ``Ink.labels`` and its box."""

    label: int
    x: int
    y: int
    w: int
    h: int
    area: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass
class Atom:
    """A stroke, or a slice of a wide stroke between two cuts along the writing's slant."""

    label: int
    lo: float  # the slice holds the stroke's pixels whose slanted column (x + slant * y) is in [lo, hi)
    hi: float
    x0: int  # its box in the image
    x1: int
    y0: int
    y1: int
    area: int
    centre: float  # mean slanted column of its pixels: atoms are read in this order
    cut_left: int  # ink pixels along the cut that made its left side (0: the stroke's own edge)
    cut_right: int
    mask: np.ndarray  # uint8 (y1 - y0, x1 - x0): 1 where its pixels are


@dataclass
class Piece:
    """A run of neighbouring atoms that might be one digit, in MNIST form, with its description."""

    start: int  # first atom
    stop: int  # one past the last atom
    box: tuple[int, int, int, int]  # x, y, w, h in the image searched
    ink: np.ndarray  # uint8 crop of the box, 1 = this piece's ink (for re-renderings)
    mnist: np.ndarray  # (28, 28) uint8
    features: np.ndarray  # (FEATURE_COUNT,) float32


@dataclass
class Candidates:
    """All pieces of one image, over atoms ``0..atom_count``; a reading is a path through them."""

    atom_count: int
    pieces: list[Piece]
    digit_height: float  # how tall the writing's digits are, in pixels of the image searched
    stroke_width: float  # their typical pen width, in the same pixels
    contrast: float  # the ink's typical darkness against the paper, 0 to 1
    writing: np.ndarray | None = None  # uint8 (rows, cols): all the strokes at MNIST's scale, 255 = ink
    atom_areas: tuple[int, ...] = ()  # ink pixels of each atom, left to right

    def unread_ink(self, digit_pieces: Sequence[int]) -> float:
        """Share of the ink outside the given pieces (those a reading takes as digits), 0 to 1.

        A reading that calls most of the ink "not writing" has explained the photo away: a separator or
        an underline is a little ink, a dropped digit is a lot.
        """
        total = sum(self.atom_areas)
        if total == 0:
            return 0.0
        read = sum(sum(self.atom_areas[self.pieces[i].start:self.pieces[i].stop]) for i in digit_pieces)
        return max(0.0, 1.0 - read / total)

    @property
    def mnist(self) -> np.ndarray:
        return np.stack([p.mnist for p in self.pieces]) if self.pieces else np.zeros((0, 28, 28), np.uint8)

    @property
    def features(self) -> np.ndarray:
        if not self.pieces:
            return np.zeros((0, FEATURE_COUNT), np.float32)
        return np.stack([p.features for p in self.pieces])


def strokes(ink: Ink) -> list[Stroke]:
    """The strokes, without specks, without the paper's edges and frames, without a table beyond the paper."""
    h, w = ink.labels.shape
    found = [Stroke(int(i), *(int(v) for v in ink.stats[i, :5])) for i in np.flatnonzero(ink.stroke)]
    found = [s for s in found if not _is_edge_artifact(s, w, h)]
    found = _without_background(ink.labels, found)
    if not found:
        return []
    largest = max(s.area for s in found)
    min_area = max(3, 0.02 * largest, 1e-5 * h * w)
    return [s for s in found if s.area >= min_area]


def _is_edge_artifact(stroke: Stroke, w: int, h: int) -> bool:
    """Not writing: a band across the whole photo (the paper's edge, a table, a rule) or a frame."""
    fill = stroke.area / float(stroke.w * stroke.h)
    across = stroke.w >= 0.9 * w and stroke.h <= 0.12 * h
    along_left_or_right = (stroke.x == 0 or stroke.right == w) and stroke.h >= 0.9 * h and stroke.w <= 0.15 * w
    frame = stroke.w >= 0.95 * w and stroke.h >= 0.95 * h and fill < 0.25
    return across or along_left_or_right or frame


def _without_background(labels: np.ndarray, found: list[Stroke]) -> list[Stroke]:
    """The strokes without the world beyond the paper: a table or a shadow that runs along the photo's
    border and is many pens thick. While it is there it would set the writing's height, be cut into
    dozens of atoms, and decide which way the photo is searched; writing is never that thick.
    """
    h, w = labels.shape
    contact = {s.label: _border_contact(labels, s) for s in found}
    along = [s for s in found if contact[s.label] >= BACKGROUND_BORDER * min(h, w)]
    rest = [s for s in found if s not in along]
    if not along or not rest:
        return found
    thickness = 0.0  # measured from the writing's pen when first needed
    background = set()
    for region in along:
        # Only beside writing that is more than a speck (as in digit_height): a bold digit in a tight crop runs
        # along the border too, and a tick or a dot beside it must not make it "many pens thick".
        beside = sum(1 for s in rest if s.h >= BACKGROUND_WRITING * region.h)
        if not beside:
            continue
        thickness = thickness or BACKGROUND_PENS * _typical_stroke(labels, rest)
        if _solid_and_thick(labels, region, thickness):
            background.add(region.label)
        # A table around a corner of the page, or a textured one, does not fill its hull. Judged by its thick
        # parts only when it runs along a whole side of the photo or more, beside two strokes of writing or
        # more: a digit cut by a tight crop, beside a tick or a few dashes, is many of their pens thick too,
        # but is cut along less than that (helpers' made photos in the README).
        elif (beside >= 2 and contact[region.label] >= BACKGROUND_SIDES * min(h, w)
              and _mostly_thick(labels, region, thickness)):
            background.add(region.label)
    return [s for s in found if s.label not in background]


def _border_contact(labels: np.ndarray, stroke: Stroke) -> int:
    """How many of the photo's border pixels belong to the stroke."""
    h, w = labels.shape
    edges = []
    if stroke.y == 0:
        edges.append(labels[0, stroke.x : stroke.right])
    if stroke.bottom == h:
        edges.append(labels[h - 1, stroke.x : stroke.right])
    if stroke.x == 0:
        edges.append(labels[stroke.y : stroke.bottom, 0])
    if stroke.right == w:
        edges.append(labels[stroke.y : stroke.bottom, w - 1])
    return sum(int(np.count_nonzero(edge == stroke.label)) for edge in edges)


def _mostly_thick(labels: np.ndarray, stroke: Stroke, thickness: float) -> bool:
    """Whether most of the stroke's ink lies in parts wider than ``thickness`` pixels: what an opening with a
    disc that wide keeps. Thinner lines are none of it, however long; a table is nearly all of it, also
    where its texture leaves holes in it or it wraps around a corner of the paper (an L, whose convex hull
    is mostly the page). Beyond the photo's border a table goes on, so the border repeats what is at it.
    """
    side = int(math.ceil(thickness)) | 1
    h, w = labels.shape
    # The stroke's box and a disc's width around it, within the photo: repeated are only the photo's edges.
    around = labels[max(0, stroke.y - side) : min(h, stroke.bottom + side),
                    max(0, stroke.x - side) : min(w, stroke.right + side)]
    mask = (around == stroke.label).astype(np.uint8)
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)),
                              borderType=cv2.BORDER_REPLICATE)
    return cv2.countNonZero(opened) >= BACKGROUND_THICK_SHARE * stroke.area


def _solid_and_thick(labels: np.ndarray, stroke: Stroke, thickness: float) -> bool:
    """Whether the stroke fills most of its convex hull (a region, not lines: writing that touches a
    frame is lines) and holds a disc wider than ``thickness`` pixels."""
    mask = cv2.copyMakeBorder((labels[stroke.y : stroke.bottom, stroke.x : stroke.right] == stroke.label)
                              .astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    if 2.0 * float(cv2.distanceTransform(mask, cv2.DIST_L2, 3).max()) <= thickness:
        return False
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
    return hull > 0 and stroke.area >= BACKGROUND_SOLIDITY * hull


def digit_height(found: list[Stroke], shape: tuple[int, int]) -> float:
    """The height of the writing's digits: the area-weighted upper quartile of the strokes' heights.

    Weighting by ink keeps dots and dashes from counting; the upper quartile keeps a digit split into
    a body and a bar (a 5) from counting as half a digit. Large filled regions running into the
    photo's border (a table beyond the paper's edge, a shadow) do not count while there is writing
    beside them that is more than a speck; a digit in a tight crop, which is no filled region, always does.
    """
    h, w = shape
    background = [s for s in found if (s.x == 0 or s.y == 0 or s.right == w or s.bottom == h)
                  and s.area >= 0.5 * s.w * s.h and (s.w >= 0.5 * w or s.h >= 0.5 * h)]
    writing = [s for s in found if s not in background]
    if background and writing and max(s.h for s in writing) >= BACKGROUND_WRITING * max(s.h for s in background):
        found = writing
    heights = np.array([s.h for s in found], np.float64)
    weights = np.array([s.area for s in found], np.float64)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, 0.75 * cumulative[-1])])


def separate_lines(labels: np.ndarray, found: list[Stroke], height: float, stroke: float
                   ) -> tuple[np.ndarray, list[Stroke]]:
    """Give long thin horizontal runs (underlines, dashes, a box's edge) strokes of their own.

    An underline that touches the digits above it would otherwise join them into one stroke that
    no vertical cut can separate. Splitting too much costs nothing: the pieces put the parts back
    together where they are one digit (the foot of a 2).
    """
    length = int(LINE_LENGTH * height)
    if length < 6:
        return labels, found
    # Work in the box around the strokes: outside it there is no ink, so with a zero border the openings
    # give what they gave on the whole photo (except that a run reaching the photo's edge no longer
    # counts the edge as ink), for a fraction of the pixels.
    x0, y0, x1, y1 = box = box_around(found)
    mask = _stroke_mask(labels, found, box)
    runs = open_along(mask, length, axis=1, outside=0)
    if not runs.any():
        return labels, found
    thick = open_along(runs, max(3, int(round(LINE_THICKNESS * stroke))), axis=0, outside=0)
    line = cv2.dilate(runs & (1 - thick), np.ones((3, 1), np.uint8)) & mask
    if not line.any():
        return labels, found
    count, inside, stats, _ = cv2.connectedComponentsWithStats(mask & (1 - line), connectivity=8)
    line_count, line_labels, line_stats, _ = cv2.connectedComponentsWithStats(line, connectivity=8)
    inside[line > 0] = line_labels[line > 0] + (count - 1)
    relabelled = np.zeros(labels.shape, inside.dtype)
    relabelled[y0:y1, x0:x1] = inside
    stats = np.vstack([stats, line_stats[1:]])
    stats[:, cv2.CC_STAT_LEFT] += x0
    stats[:, cv2.CC_STAT_TOP] += y0
    new = [Stroke(i, *(int(v) for v in stats[i, :5])) for i in range(1, count + line_count - 1)]
    return relabelled, [s for s in new if s.area >= 3]


def writing_slant(labels: np.ndarray, found: list[Stroke]) -> float:
    """How far the writing leans: the shear that makes its vertical strokes most upright.

    The ink's column histogram after shearing by ``s`` (x + s * y) is most peaked when the strokes
    stand straight; s > 0 for writing that leans right. Touching digits are then cut along that
    lean, where they meet, rather than straight down through one of them.
    """
    ys, xs = [], []
    for stroke in found:
        yy, xx = np.nonzero(labels[stroke.y : stroke.bottom, stroke.x : stroke.right] == stroke.label)
        ys.append(yy + stroke.y)
        xs.append(xx + stroke.x)
    y, x = np.concatenate(ys).astype(np.float32), np.concatenate(xs).astype(np.float32)
    if len(x) > 3000:
        step = len(x) // 3000 + 1
        y, x = y[::step], x[::step]
    best, best_score = 0.0, -1.0
    for slant in SLANTS:
        columns = np.floor(x + slant * y).astype(np.int64)
        counts = np.bincount(columns - columns.min())
        score = float(np.dot(counts, counts))
        if score > best_score * (1 + 1e-6):
            best, best_score = float(slant), score
    return best


def atoms(labels: np.ndarray, found: list[Stroke], height: float, slant: float = 0.0) -> list[Atom]:
    """Cut wide strokes where touching digits may meet; every stroke or slice is an atom, left to right.

    Cuts follow the writing's ``slant``. Strokes too wide to belong to any digit (an underline) go
    last, so that no run of atoms that could be a digit has to include them.
    """
    result: list[Atom] = []
    for s in found:
        region = labels[s.y : s.bottom, s.x : s.right] == s.label
        if not (s.w > CUT_WIDER_THAN * height and s.h >= SHORTEST_DIGIT * height):  # no room for two digits
            mask = region.astype(np.uint8)
            result.append(Atom(s.label, -np.inf, np.inf, s.x, s.right, s.y, s.bottom, s.area,
                               _mean_column(mask, s, slant), 0, 0, mask))
            continue
        yy, xx = np.nonzero(region)
        sheared = np.floor(xx + s.x + slant * (yy + s.y)).astype(np.int64)
        first = int(sheared.min())
        columns = np.bincount(sheared - first)
        cuts = _cut_columns(columns, max(1.0, stroke_width(region.astype(np.uint8))), height)
        bounds = [0, *cuts, len(columns)]
        for left, right in zip(bounds[:-1], bounds[1:]):
            inside = (sheared >= first + left) & (sheared < first + right)
            if not inside.any():
                continue
            ay, ax = yy[inside], xx[inside]
            top, left_x = int(ay.min()), int(ax.min())
            mask = np.zeros((int(ay.max()) + 1 - top, int(ax.max()) + 1 - left_x), np.uint8)
            mask[ay - top, ax - left_x] = 1
            result.append(Atom(s.label, -np.inf if left == 0 else first + left,
                               np.inf if right == len(columns) else first + right,
                               s.x + left_x, s.x + left_x + mask.shape[1], s.y + top, s.y + top + mask.shape[0],
                               int(inside.sum()), float(sheared[inside].mean()), int(columns[left]) if left else 0,
                               int(columns[right - 1]) if right < len(columns) else 0, mask))
    result.sort(key=lambda a: (a.x1 - a.x0 > WIDEST_PIECE * height, a.centre, a.y0))
    return result


def _mean_column(mask: np.ndarray, s: Stroke, slant: float) -> float:
    """The mean of a stroke's pixels' columns, sheared by ``slant`` as cuts are. Unsheared, it comes from the
    mask's moments: exact integer sums, so the same number without listing the pixels."""
    if slant == 0.0:
        moments = cv2.moments(mask, binaryImage=True)
        return (moments["m10"] + moments["m00"] * s.x) / moments["m00"]
    yy, xx = np.nonzero(mask)
    return float(np.floor(xx + s.x + slant * (yy + s.y)).astype(np.int64).mean())


def _cut_columns(columns: np.ndarray, stroke: float, height: float) -> list[int]:
    """Columns where a wide stroke may be cut: where the ink thins to about one stroke, and a grid."""
    w = len(columns)
    columns = columns.astype(np.float32)
    margin = max(2, int(0.15 * height))
    inner = np.arange(margin, w - margin)
    if inner.size == 0:
        return []
    c = columns[inner]
    # A neck is the thinnest column around: along a single stroke (a 2's foot, a 7's bar) every column is
    # about as thin as its neighbours, and cutting at each of their small dips would shatter the digit.
    reach = max(1, int(NECK_REACH * height))
    padded = np.pad(columns, reach, constant_values=np.inf)
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)[inner]
    lowest_left = window[:, :reach].min(axis=1)
    lowest_right = window[:, reach + 1 :].min(axis=1)
    thin = inner[(c < lowest_left) & (c <= lowest_right) & (c <= NECK_STROKES * stroke)]
    grid = np.arange(margin, w - margin, max(2, int(GRID_STEP * height)))
    cuts = sorted(set(thin.tolist()) | set(grid.tolist()))
    # Two cuts a pixel or two apart make slivers that only cost time.
    kept: list[int] = []
    for cut in cuts:
        if not kept or cut - kept[-1] >= max(2, 0.05 * height):
            kept.append(cut)
    return kept


@dataclass
class WritingSize:
    """How large the writing is, in pixels of the image searched: whether it is legible at this size."""

    height: float  # of its digits (``digit_height``)
    stroke: float  # its typical pen width


def measure(ink: Ink, found: list[Stroke]) -> WritingSize:
    """The size of the writing made of ``found`` (at least one stroke)."""
    return WritingSize(digit_height(found, ink.labels.shape), _typical_stroke(ink.labels, found))


def candidates(ink: Ink, found: list[Stroke] | None = None, size: WritingSize | None = None) -> Candidates | None:
    """Every run of neighbouring atoms that could be one digit, described for the networks.

    ``size`` is ``measure(ink, found)`` when the caller has it already. None when there is nothing
    to read or too much (texture, scribble).
    """
    found = strokes(ink) if found is None else found
    if not found:
        return None
    size = measure(ink, found) if size is None else size
    height, stroke = size.height, size.stroke
    labels, found = separate_lines(ink.labels, found, height, stroke)
    cut = any(s.w > CUT_WIDER_THAN * height and s.h >= SHORTEST_DIGIT * height for s in found)
    slant = writing_slant(labels, found) if cut else 0.0  # only cuts follow the slant
    parts = atoms(labels, found, height, slant)
    if not parts or len(parts) > MAX_ATOMS:
        return None
    mask = _stroke_mask(labels, found, (0, 0, labels.shape[1], labels.shape[0]))
    context = _Context(mask, height, stroke, slant, parts, found, ink.strength)
    pieces: list[Piece] = []
    for start in range(len(parts)):
        x0 = parts[start].x0
        x1 = parts[start].x1
        for stop in range(start + 1, min(len(parts), start + MAX_ATOMS_PER_PIECE) + 1):
            x0 = min(x0, parts[stop - 1].x0)
            x1 = max(x1, parts[stop - 1].x1)
            if stop - start > 1 and x1 - x0 > WIDEST_PIECE * height:
                break
            if stop - start > 1 and max(a.y1 for a in parts[start:stop]) - min(a.y0 for a in parts[start:stop]) \
                    < SHORTEST_DIGIT * height:
                continue  # several atoms that are not a digit are read one by one as not writing
            piece = _piece(labels, parts, start, stop, context)
            if piece is not None:
                pieces.append(piece)
    if not pieces:
        return None
    context_cells = _thumbnails(context.integral, np.array([p.box for p in pieces], np.float64), height)
    for piece, cells in zip(pieces, context_cells):
        piece.features = np.concatenate([piece.features, cells])
    return Candidates(len(parts), pieces, height, context.stroke, context.typical_strength / 255.0,
                      writing_image(mask, found, height), tuple(a.area for a in parts))


def writing_image(mask: np.ndarray, found: list[Stroke], height: float) -> np.ndarray:
    """All the strokes in the box around them, scaled so the digits are as tall as MNIST's, 255 = ink.

    The pieces' 28x28 inputs cannot say where a cut went wrong (a digit read as two, two as one); the
    whole writing can, so this is what is kept to learn the cutting from a correction of the count of
    digits. Anti-aliased like MNIST; shrunk further when the writing is very wide or tall.
    """
    x0, y0, x1, y1 = box_around(found)
    crop = mask[y0:y1, x0:x1].astype(np.float32)
    inner_rows, inner_cols = WRITING_MAX_ROWS - 2 * WRITING_MARGIN_PX, WRITING_MAX_COLS - 2 * WRITING_MARGIN_PX
    scale = min(WRITING_DIGIT_PX / max(height, 1.0), inner_rows / crop.shape[0], inner_cols / crop.shape[1])
    rows, cols = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = cv2.resize(crop, (cols, rows), interpolation=cv2.INTER_AREA)
    image = np.zeros((rows + 2 * WRITING_MARGIN_PX, cols + 2 * WRITING_MARGIN_PX), np.uint8)
    image[WRITING_MARGIN_PX:-WRITING_MARGIN_PX, WRITING_MARGIN_PX:-WRITING_MARGIN_PX] = np.clip(
        small * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return image


def box_around(found: list[Stroke]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the box around all the strokes."""
    return (min(s.x for s in found), min(s.y for s in found), max(s.right for s in found),
            max(s.bottom for s in found))


def _stroke_mask(labels: np.ndarray, found: list[Stroke], box: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 mask (1 = ink) of the strokes within ``box`` (left, top, right, bottom), in its own pixels."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for s in found:
        mask[s.y - y0 : s.bottom - y0, s.x - x0 : s.right - x0] |= (
            labels[s.y : s.bottom, s.x : s.right] == s.label).astype(np.uint8)
    return mask


def _typical_stroke(labels: np.ndarray, found: list[Stroke]) -> float:
    """The median pen width of the largest strokes, in pixels (at least 1)."""
    widths = [stroke_width((labels[s.y : s.bottom, s.x : s.right] == s.label).astype(np.uint8))
              for s in sorted(found, key=lambda s: -s.area)[:8]]
    return max(1.0, float(statistics.median(widths))) if widths else 1.0


class _Context:
    """What every piece's description is measured against: the writing's size, centre line and strokes."""

    def __init__(self, mask: np.ndarray, height: float, stroke: float, slant: float, parts: list[Atom],
                 found: list[Stroke], strength: np.ndarray) -> None:
        self.slant = slant
        self.strength = strength
        self.typical_strength = max(1.0, _median_uint8(strength, mask))
        self.integral = cv2.integral(mask)
        self.height = height
        weights = np.array([a.area for a in parts], np.float64)
        centres = np.array([(a.y0 + a.y1) / 2 for a in parts])
        order = np.argsort(centres)
        cumulative = np.cumsum(weights[order])
        self.centre_y = float(centres[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])
        self.largest = max(s.area for s in found)
        self.stroke_areas = {s.label: s.area for s in found}
        self.stroke = stroke
        # For the gaps beside a run of atoms: the right edge of the atoms before each atom, the left
        # edge of those from each atom on.
        self.rightmost_before = [0, *itertools.accumulate((a.x1 for a in parts), max)]
        self.leftmost_after = [*itertools.accumulate((a.x0 for a in reversed(parts)), min)][::-1]


def _piece(labels: np.ndarray, parts: list[Atom], start: int, stop: int, ctx: _Context) -> Piece | None:
    run = parts[start:stop]
    x0, x1 = min(a.x0 for a in run), max(a.x1 for a in run)
    y0, y1 = min(a.y0 for a in run), max(a.y1 for a in run)
    ink = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for a in run:
        ink[a.y0 - y0 : a.y1 - y0, a.x0 - x0 : a.x1 - x0] |= a.mask
    area = int(sum(a.area for a in run))
    if area == 0:
        return None
    w, h = x1 - x0, y1 - y0
    H = ctx.height
    mnist, width = fit_measured(ink)
    image_h, image_w = labels.shape
    gap_left = (x0 - ctx.rightmost_before[start]) / H if start else 2.0
    gap_right = (ctx.leftmost_after[stop] - x1) / H if stop < len(parts) else 2.0
    whole = {a.label for a in run}
    share = area / sum(ctx.stroke_areas[label] for label in whole)
    # Scalar arithmetic in plain Python: NumPy's per-call overhead on scalars costs more than the maths.
    shape = np.array([
        h / H, w / H, math.log((w + 1) / (h + 1)), (y0 - ctx.centre_y) / H, (y1 - ctx.centre_y) / H,
        (stop - start) / MAX_ATOMS_PER_PIECE, min(3.0, run[0].cut_left / (3 * ctx.stroke)),
        min(3.0, run[-1].cut_right / (3 * ctx.stroke)), area / float(w * h), width / H,
        min(2.0, max(-1.0, gap_left)), min(2.0, max(-1.0, gap_right)),
        float(x0 == 0), float(x1 == image_w), float(y0 == 0), float(y1 == image_h),
        math.log(area / ctx.largest + 1e-3), share,
        cv2.mean(ctx.strength[y0:y1, x0:x1], mask=ink)[0] / ctx.typical_strength,
    ], np.float32)
    return Piece(start, stop, (x0, y0, w, h), ink, mnist, shape)


def _median_uint8(values: np.ndarray, mask: np.ndarray) -> float:
    """``np.median(values[mask > 0])`` for uint8 values, from their histogram (no sort, no copy); 0 if none."""
    counts = np.cumsum(cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel())
    total = int(counts[-1])
    if total == 0:
        return 0.0
    lower = int(np.searchsorted(counts, (total - 1) // 2, side="right"))
    upper = int(np.searchsorted(counts, total // 2, side="right"))
    return (lower + upper) / 2.0


def _thumbnails(integral: np.ndarray, boxes: np.ndarray, height: float) -> np.ndarray:
    """The share of ink in each cell of a window a few digit heights wide around each piece (P, cells).

    The window is centred on the piece's box; cell sums come from the photo's integral image, for all
    pieces at once.
    """
    centres = boxes[:, :2] + boxes[:, 2:] / 2.0
    steps_x = _CONTEXT_STEPS_X * height
    steps_y = _CONTEXT_STEPS_Y * height
    # np.minimum/np.maximum and slicing rather than np.clip and np.diff, whose overhead is most of the
    # cost on a few boxes; the numbers are the same.
    xs = np.minimum(np.maximum(np.round(centres[:, :1] + steps_x), 0), integral.shape[1] - 1).astype(np.int64)
    ys = np.minimum(np.maximum(np.round(centres[:, 1:] + steps_y), 0), integral.shape[0] - 1).astype(np.int64)
    corners = integral[ys[:, :, None], xs[:, None, :]].astype(np.float32)
    sums = corners[:, 1:, 1:] - corners[:, :-1, 1:] - corners[:, 1:, :-1] + corners[:, :-1, :-1]
    cell_area = ((steps_y[1:] - steps_y[:-1])[:, None] * (steps_x[1:] - steps_x[:-1])[None, :]).astype(np.float32)
    return (sums / cell_area).reshape(len(boxes), -1)
