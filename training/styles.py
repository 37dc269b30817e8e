"""Pen-stroke skeletons of digit shapes that MNIST (written mostly by American writers) lacks.

Many writers elsewhere close the top of a 4, square or open the top of a 5 and lift the pen before its
bar, give a 1 a long flag, cross a 7 or hook its top, write a 9 with a straight stem or hang it from
the head like a rho, loop the foot of a 2, flatten the top of a 3 or join small zeros in one stroke.
A model trained on MNIST alone reads these as 9, 3, 7, 1, 4, 8, 2.
Each generator draws one such shape with random proportions; ``draw`` renders skeletons with a pen
of any width, so the same shapes serve the 28x28 training digits and the synthetic numbers.

Points are (x, y) in a unit box, y down; a skeleton is a list of strokes (pen down to pen up).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Point = tuple[float, float]
Skeleton = list[list[Point]]
Generator = Callable[[np.random.Generator], Skeleton]


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, stop_deg: float, steps: int = 14) -> list[Point]:
    """Points along an ellipse arc; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    angles = np.deg2rad(np.linspace(start_deg, stop_deg, steps))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def one_flagged(rng: np.random.Generator) -> Skeleton:
    """A 1 with a flag: short or long (as long as the stem), always descending to the left (a 7's bar runs across)."""
    top = (rng.uniform(0.5, 0.75), 0.0)
    length = rng.uniform(0.2, 0.7)
    flag = (top[0] - length, min(0.75, rng.uniform(0.3, 0.6) * (0.6 + length)))
    # the stem may lean right of its top, so that a long flag and the stem make an inverted V
    strokes = [[flag, top, (top[0] + rng.uniform(-0.12, 0.25), 1.0)]]
    if rng.random() < 0.25:  # a base
        strokes.append([(top[0] - 0.3, 1.0), (top[0] + 0.25, 1.0)])
    return strokes


def four_closed(rng: np.random.Generator) -> Skeleton:
    """A 4 whose diagonal meets the stem at the top: a triangle over a stem, easily taken for a 9 or a 1.

    The triangle may be small, its bar a quarter of the way down a long stem.
    """
    stem_x = rng.uniform(0.55, 0.75)
    bar_y = rng.uniform(0.25, 0.7)
    overhang = rng.uniform(0.05, 0.3)
    left = (rng.uniform(0.0, 0.15), bar_y)
    if rng.random() < 0.5:  # one stroke: up the stem, down the diagonal, along the bar
        return [[(stem_x, rng.uniform(0.85, 1.0)), (stem_x, 0.0), left, (stem_x + overhang, bar_y)]]
    return [[(stem_x, 0.0), left, (stem_x + overhang, bar_y)], [(stem_x, rng.uniform(0.0, 0.2)), (stem_x, 1.0)]]


def four_open(rng: np.random.Generator) -> Skeleton:
    """An open 4 in two strokes: down and along the bar, then a stem that crosses it."""
    bar_y = rng.uniform(0.5, 0.7)
    stem_x = rng.uniform(0.55, 0.75)
    start = (rng.uniform(0.05, 0.4), 0.0)
    return [[start, (rng.uniform(0.0, 0.1), bar_y), (rng.uniform(0.85, 1.0), bar_y - rng.uniform(0, 0.05))],
            [(stem_x + rng.uniform(-0.05, 0.1), rng.uniform(0.0, 0.3)), (stem_x, 1.0)]]


def _five_bowl(rng: np.random.Generator, neck: Point, open_bowl: bool) -> list[Point]:
    """The belly of a 5, from the bottom of its neck round to the lower left."""
    rx, ry = rng.uniform(0.35, 0.5), rng.uniform(0.22, 0.3)
    cy = 1.0 - ry
    cx = neck[0] + rx * rng.uniform(0.6, 0.9)
    stop = rng.uniform(110, 140) if open_bowl else rng.uniform(140, 175)
    return [neck, *_arc(cx, cy, rx, ry, -150, stop)]


def four_italic(rng: np.random.Generator) -> Skeleton:
    """A 4 with a long diagonal down to a low bar and a short stem across the bar (read as 6 by MNIST)."""
    bar_y = rng.uniform(0.55, 0.8)
    top = (rng.uniform(0.55, 0.95), 0.0)
    left = (rng.uniform(0.0, 0.15), bar_y)
    right = (rng.uniform(0.8, 1.0), bar_y - rng.uniform(0.0, 0.1))
    stem_x = rng.uniform(0.5, 0.8)
    stem = [(stem_x + rng.uniform(0.0, 0.1), rng.uniform(0.2, bar_y - 0.15)), (stem_x - rng.uniform(0.0, 0.1), 1.0)]
    return [[top, left, right], stem]


def five_square(rng: np.random.Generator) -> Skeleton:
    """A 5 in one stroke with square corners: the bar, straight down, then the belly (read as 3 by MNIST)."""
    left = rng.uniform(0.05, 0.2)
    right = rng.uniform(0.75, 1.0)
    neck = (left + rng.uniform(-0.03, 0.05), rng.uniform(0.38, 0.5))
    return [[(right, 0.0), (left, 0.02), *_five_bowl(rng, neck, open_bowl=False)]]


def five_detached(rng: np.random.Generator) -> Skeleton:
    """A 5 written in two strokes whose bar does not touch the body (or only just)."""
    left = rng.uniform(0.05, 0.2)
    neck = (left, rng.uniform(0.38, 0.5))
    body = [(left + rng.uniform(0.0, 0.08), 0.0), *_five_bowl(rng, neck, open_bowl=rng.random() < 0.5)]
    gap = rng.uniform(-0.02, 0.15)
    y = rng.uniform(-0.05, 0.05)
    return [body, [(left + gap, y), (rng.uniform(0.7, 1.0), y - rng.uniform(0.0, 0.08))]]


def five_open(rng: np.random.Generator) -> Skeleton:
    """A 5 whose belly stays open, with a short neck and a bar that may float."""
    left = rng.uniform(0.1, 0.25)
    neck = (left - rng.uniform(0.0, 0.08), rng.uniform(0.35, 0.45))
    strokes = [[(left + rng.uniform(0.0, 0.1), 0.02), *_five_bowl(rng, neck, open_bowl=True)]]
    strokes.append([(left + rng.uniform(0.0, 0.08), 0.0), (rng.uniform(0.75, 1.0), -rng.uniform(0.0, 0.06))])
    return strokes


def seven_crossed(rng: np.random.Generator) -> Skeleton:
    """A 7 with a bar across its stem, a top bar long or short, and sometimes a hook where the pen starts."""
    bottom = (rng.uniform(0.2, 0.8), 1.0)  # up to an upright stem under a short bar, like a t
    corner = (rng.uniform(0.8, 1.0), 0.0)
    start = (corner[0] - rng.uniform(0.2, 0.9), rng.uniform(0.0, 0.1))
    head = [(start[0] - rng.uniform(0.0, 0.1), rng.uniform(0.15, 0.35)), start] if rng.random() < 0.45 else [start]
    strokes = [[*head, corner, bottom]]
    if rng.random() < 0.8:
        y = rng.uniform(0.42, 0.62)
        middle = corner[0] + (bottom[0] - corner[0]) * y
        across = [(middle - rng.uniform(0.2, 0.45), y), (middle + rng.uniform(0.15, 0.4), y - rng.uniform(0, 0.06))]
        strokes.append(across)
    return strokes


def four_cursive(rng: np.random.Generator) -> Skeleton:
    """A 4 in one stroke with no stem above the bar: down and left, along the bar, then down the stem."""
    top = (rng.uniform(0.45, 0.7), 0.0)
    bar_y = rng.uniform(0.45, 0.65)
    left = (rng.uniform(0.0, 0.15), bar_y)
    turn = (rng.uniform(0.75, 1.0), bar_y - rng.uniform(0.0, 0.15))
    stem = (turn[0] - rng.uniform(0.1, 0.35), bar_y + 0.05)
    return [[top, left, turn, stem, (stem[0] - rng.uniform(0.0, 0.15), 1.0)]]


def nine_curly(rng: np.random.Generator) -> Skeleton:
    """A 9 with a small round head and a tail that curves back to the left."""
    rx, ry = rng.uniform(0.25, 0.4), rng.uniform(0.15, 0.22)
    cx, cy = 0.55, ry
    right = cx + rx
    tail = _arc(right - rng.uniform(0.25, 0.45), cy + 0.1, rng.uniform(0.25, 0.45), 0.85 - cy, 0, rng.uniform(90, 150))
    return [[*_arc(cx, cy, rx, ry, 20, 380), *tail]]


def nine_straight(rng: np.random.Generator) -> Skeleton:
    """A 9 with a round head and a straight stem (the head may not close)."""
    rx, ry = rng.uniform(0.35, 0.5), rng.uniform(0.18, 0.25)
    cx, cy = 0.5, ry
    right = cx + rx * 0.95
    stop = rng.uniform(340, 380)
    return [[*_arc(cx, cy, rx, ry, 0, stop), (right, cy), (right - rng.uniform(-0.05, 0.2), 1.0)]]


def nine_rho(rng: np.random.Generator) -> Skeleton:
    """A 9 whose stem hangs from the bottom left of its head, like a Greek rho (read as 8 or P-like by MNIST)."""
    rx, ry = rng.uniform(0.28, 0.45), rng.uniform(0.16, 0.25)
    cx, cy = rng.uniform(0.5, 0.6), ry
    join = rng.uniform(100, 150)
    head = _arc(cx, cy, rx, ry, join, join + rng.uniform(340, 380), 18)
    foot = (cx + rx * np.cos(np.deg2rad(join)) + rng.uniform(-0.15, 0.05), 1.0)
    return [[*head, foot]]


def two_looped(rng: np.random.Generator) -> Skeleton:
    """A 2 with a loop at its foot; its head may curl round until it almost closes."""
    top = _arc(0.5, 0.25, 0.4, 0.25, rng.uniform(150, 210), 380)
    r = rng.uniform(0.1, 0.3)
    loop = _arc(0.2 + r, 0.95 - r, r, r * rng.uniform(0.7, 1.0), -60, -60 - 330)  # round the foot, anticlockwise
    return [[*top, *loop, (rng.uniform(0.85, 1.0), 0.97)]]


def three_flat(rng: np.random.Generator) -> Skeleton:
    """A 3 with a flat top, like a Z over a belly."""
    mid = (rng.uniform(0.3, 0.5), rng.uniform(0.4, 0.5))
    ry = (1.0 - mid[1]) / 2
    return [[(0.05, 0.0), (rng.uniform(0.8, 1.0), 0.0), mid,
             *_arc(mid[0], mid[1] + ry, rng.uniform(0.4, 0.55), ry, -90, rng.uniform(120, 150))]]


def zero_joined(rng: np.random.Generator) -> Skeleton:
    """A small round 0 written without lifting the pen: a lead-in along the line and maybe a tail on the right.

    Zeros in amounts (20000) are often small, flat and joined, and MNIST reads them as 2.
    """
    rx, ry = rng.uniform(0.3, 0.42), rng.uniform(0.2, 0.4)
    cx, cy = rng.uniform(0.55, 0.65), 1.0 - ry
    start = rng.uniform(150, 200)  # the lead-in meets the loop on its left, then it goes round anticlockwise
    loop = _arc(cx, cy, rx, ry, start, start - rng.uniform(340, 400), 20)
    strokes = [[(0.0, rng.uniform(cy, 1.0)), *loop]]
    if rng.random() < 0.5:
        strokes[0].append((1.0, rng.uniform(cy, 1.0)))
    return strokes


def zero_slanted(rng: np.random.Generator) -> Skeleton:
    """A narrow 0 whose ends overlap or leave a small gap at the top."""
    start = rng.uniform(-110, -70)
    return [_arc(0.5, 0.5, rng.uniform(0.3, 0.5), 0.5, start, start + rng.uniform(330, 390), 24)]


STYLES: dict[int, tuple[Generator, ...]] = {
    0: (zero_slanted, zero_joined),
    1: (one_flagged,),
    2: (two_looped,),
    3: (three_flat,),
    4: (four_closed, four_open, four_cursive, four_italic),
    5: (five_square, five_detached, five_open),
    7: (seven_crossed,),
    9: (nine_straight, nine_curly, nine_rho),
}


def skeleton(digit: int, rng: np.random.Generator) -> Skeleton:
    """A random skeleton of ``digit`` in one of its styles; raises KeyError for digits without styles."""
    generators = STYLES[digit]
    return generators[int(rng.integers(len(generators)))](rng)


def draw(strokes: Skeleton, height: int, rng: np.random.Generator, pen: float, aspect: float = 0.65,
         wobble: float = 0.025, slant: float = 0.0) -> np.ndarray:
    """Render a skeleton as pen ink (float32, 0-1) ``height`` pixels tall, pen ``pen`` pixels wide.

    Each point is jittered by ``wobble`` of the height (a human hand), the shape is sheared by
    ``slant`` (x moves right by ``slant`` times the distance from the bottom), and strokes are drawn
    at four times the size and reduced, so edges are anti-aliased like a photographed pen line.
    """
    over = 4
    width = max(2, int(round(height * aspect)))
    margin = int(np.ceil(pen)) + 2 + int(abs(slant) * height)
    canvas = np.zeros(((height + 2 * margin) * over, (width + 2 * margin) * over), np.uint8)
    for stroke in strokes:
        points = np.array(stroke, np.float64) + _smooth_jitter(len(stroke), wobble, rng)
        x = margin + points[:, 0] * width + slant * (1.0 - points[:, 1]) * height
        y = margin + points[:, 1] * height
        path = (np.stack([x, y], axis=1) * over * 16).astype(np.int32)  # 4 fractional bits
        cv2.polylines(canvas, [path], False, 255, max(1, int(round(pen * over))), cv2.LINE_AA, shift=4)
    small = cv2.resize(canvas, (canvas.shape[1] // over, canvas.shape[0] // over), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def _smooth_jitter(count: int, size: float, rng: np.random.Generator) -> np.ndarray:
    """Random offsets (count, 2) that drift smoothly along a stroke, as a hand does, rather than zig-zag."""
    raw = rng.normal(0.0, size, (count + 4, 2))
    window = max(1, count // 4)
    if window > 1:
        kernel = np.ones(window) / np.sqrt(window)  # keeps the drift's size about ``size``
        raw = np.stack([np.convolve(raw[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return raw[2 : count + 2]
