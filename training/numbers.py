"""Synthetic handwritten numbers, composed the way people write them, with the owner of every ink pixel.

A number is a row of digit glyphs (MNIST digits, or the styles MNIST lacks from ``training.styles``)
with the irregularities of a hand: gaps from wide to touching and overlapping, a slant, a drifting
baseline, digits of changing size, separators (``.``, ``,``, ``-``, ``/``, ``=``) and underlines that
are not part of the label. Besides the ink, each layout keeps which digit (or which other mark) every
ink pixel belongs to, so that a piece the recognizer cuts out can be told apart as a whole digit, a
part of one, several, or no digit at all. ``training.scenes`` turns a layout into a photo or a scan.

The MNIST digits come from whatever split the caller passes: training digits to train and tune,
test digits only to report.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training import styles

DIGIT_HEIGHT = 64  # nominal digit height of a layout, in pixels; scenes scale it to any size
STROKE = 0.11  # MNIST's stroke width relative to the digit height (2.25 px of a 20-px box)
OTHER_MARK = -1  # owner of ink that is no digit: separators, underlines


@dataclass
class Layout:
    """Ink of a written number on transparent paper, and who owns each pixel."""

    ink: np.ndarray  # float32 (H, W), 0 = paper, 1 = full ink
    owners: np.ndarray  # int16 (H, W): i + 1 for the i-th digit, OTHER_MARK for other marks, 0 for paper
    label: str  # the digits, left to right
    boxes: list[tuple[int, int, int, int]]  # each digit's ink box (x, y, w, h)
    digit_height: float  # nominal height of a digit in this layout, in pixels


class GlyphSource:
    """Digit shapes: MNIST images of one split, and now and then a style MNIST lacks."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, style_share: float = 0.35) -> None:
        self.images = images
        self.labels = np.asarray(labels)
        self.by_digit = [np.flatnonzero(self.labels == d) for d in range(10)]
        self.style_share = style_share

    def glyph(self, digit: int, height: int, pen: float, rng: np.random.Generator) -> np.ndarray:
        """Ink (float32, 0-1) of ``digit``, ``height`` pixels tall, with a pen ``pen`` times MNIST's width."""
        if digit in styles.STYLES and rng.random() < self.style_share:
            return styles.draw(styles.skeleton(digit, rng), height, rng, pen=max(1.0, STROKE * height * pen),
                               aspect=rng.uniform(0.5, 0.75))
        image = self.images[self.by_digit[digit][int(rng.integers(len(self.by_digit[digit])))]]
        return mnist_glyph(image, height, pen)


def mnist_glyph(image: np.ndarray, height: int, pen: float = 1.0) -> np.ndarray:
    """An MNIST digit enlarged to ``height`` pixels, with crisp pen edges and its stroke scaled by ``pen``."""
    ys, xs = np.nonzero(image > 40)
    if len(ys) == 0:
        return np.zeros((height, max(1, height // 2)), np.float32)
    crop = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    scale = height / crop.shape[0]
    big = cv2.resize(np.pad(crop, 2), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    ink = np.clip((big - 0.3) / 0.4, 0.0, 1.0)  # MNIST's soft edges become a pen's edge
    change = (pen - 1.0) * STROKE * height / 2  # pixels to add (or remove) on each side of the stroke
    radius = int(round(abs(change)))
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        thinner = cv2.erode(ink, kernel)
        ink = cv2.dilate(ink, kernel) if change > 0 else (thinner if thinner.max() > 0.5 else ink)
    return ink.astype(np.float32)


@dataclass(frozen=True)
class LayoutConfig:
    """How irregular the writing is; every range is sampled afresh for each number."""

    min_digits: int = 2
    max_digits: int = 8
    single_share: float = 0.3  # share of photos of a single digit (most of what users send)
    slant_mean: float = 0.12  # horizontal shear: x moves right by slant times the height above the baseline
    slant_spread: float = 0.14
    separator_probability: float = 0.35  # thousands separators in numbers of four digits or more
    end_mark_probability: float = 0.3  # ".-", "=", "—", "./" after the number (cheques)
    underline_probability: float = 0.15


def random_label(rng: np.random.Generator, cfg: LayoutConfig) -> str:
    """Digits as people write numbers: rarely a leading zero, often trailing zeros (amounts)."""
    single = rng.random() < cfg.single_share
    count = 1 if single else int(rng.integers(cfg.min_digits, cfg.max_digits + 1))
    digits = rng.integers(0, 10, count)
    if count > 1 and digits[0] == 0 and rng.random() < 0.9:
        digits[0] = rng.integers(1, 10)
    if count > 2 and rng.random() < 0.4:
        zeros = int(rng.integers(1, count))
        digits[count - zeros :] = 0
    return "".join(str(d) for d in digits)


def _sizes(label: str, rng: np.random.Generator) -> np.ndarray:
    """Each digit's height relative to the nominal: a hand's variation, and the habits of amounts.

    People often write the zeros that end an amount smaller (and higher), or the first digit larger.
    """
    sizes = np.exp(rng.normal(0.0, 0.1, len(label)))
    trailing = len(label) - len(label.rstrip("0"))
    if trailing and trailing < len(label) and rng.random() < 0.3:
        sizes[len(label) - trailing :] *= rng.uniform(0.45, 0.85)
    if len(label) > 1 and rng.random() < 0.12:
        sizes[0] *= rng.uniform(1.15, 1.5)
    return sizes


def _gap(rng: np.random.Generator) -> float:
    """Space between neighbouring digits' ink, in digit heights: wide, normal, touching or overlapping."""
    kind = rng.random()
    if kind < 0.25:
        return rng.uniform(0.2, 0.6)
    if kind < 0.6:
        return rng.uniform(0.04, 0.2)
    if kind < 0.82:
        return rng.uniform(-0.04, 0.04)
    return rng.uniform(-0.2, -0.04)


def compose(label: str, source: GlyphSource, rng: np.random.Generator, cfg: LayoutConfig = LayoutConfig()) -> Layout:
    """Write ``label`` by hand: glyphs side by side with a hand's irregularities, plus marks that are no digits."""
    h = DIGIT_HEIGHT
    pen = float(np.exp(rng.normal(0.0, 0.35)))
    size_trend = rng.normal(0.0, 0.03)
    drift = rng.normal(0.0, 0.04)
    sizes = _sizes(label, rng)
    placed: list[tuple[np.ndarray, int, int, int]] = []  # (ink, x, y, owner)
    x, walk = 0.0, 0.0
    thousands = len(label) >= 4 and rng.random() < cfg.separator_probability
    separator = str(rng.choice([".", ".", ",", ",", "-", "/"], p=[0.3, 0.2, 0.2, 0.1, 0.12, 0.08])) if thousands else ""
    for index, char in enumerate(label):
        height = int(round(h * sizes[index] * (1 + size_trend * index)))
        glyph = source.glyph(int(char), max(12, height), pen * np.exp(rng.normal(0, 0.1)), rng)
        glyph = _rotate(glyph, rng.normal(0.0, 3.0))
        if index:
            x += _gap(rng) * h * min(1.0, sizes[index] * 1.2)
        walk += rng.normal(0.0, 0.03) * h
        bottom = h + drift * x + walk - (h - height) * float(rng.uniform(0.0, 0.6) if sizes[index] < 0.85 else 0.0)
        placed.append((glyph, int(round(x)), int(round(bottom - glyph.shape[0])), index + 1))
        x += glyph.shape[1]
        remaining = len(label) - index - 1
        if separator and remaining and remaining % 3 == 0:
            mark, dx = _separator(separator, h, pen, rng)
            x += rng.uniform(-0.05, 0.12) * h  # often close to, or touching, the digit before it
            placed.append((mark[0], int(round(x + dx)), int(round(bottom + mark[1])), OTHER_MARK))
            x += dx + mark[0].shape[1] + rng.uniform(-0.02, 0.25) * h
    if rng.random() < cfg.end_mark_probability:
        for symbol in str(rng.choice([".", "-", ".-", "=", "—", "./", ".=", "/-"])):
            mark, dx = _separator(symbol, h, pen, rng)
            x += rng.uniform(-0.03, 0.3) * h
            placed.append((mark[0], int(round(x + dx)), int(round(h + drift * x + walk + mark[1])), OTHER_MARK))
            x += dx + mark[0].shape[1]
    if rng.random() < cfg.underline_probability:
        placed.append(_underline(placed, h, pen, rng))
    return _paste(placed, label, h, slant=float(np.clip(rng.normal(cfg.slant_mean, cfg.slant_spread), -0.25, 0.5)))


def _rotate(glyph: np.ndarray, degrees: float) -> np.ndarray:
    gh, gw = glyph.shape
    pad = int(0.15 * max(gh, gw)) + 1
    padded = np.pad(glyph, pad)
    matrix = cv2.getRotationMatrix2D((padded.shape[1] / 2, padded.shape[0] / 2), degrees, 1.0)
    rotated = cv2.warpAffine(padded, matrix, (padded.shape[1], padded.shape[0]), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(rotated > 0.05)
    if len(ys) == 0:
        return glyph
    return rotated[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _separator(symbol: str, h: int, pen: float, rng: np.random.Generator) -> tuple[tuple[np.ndarray, float], float]:
    """Ink of a mark that is no digit, its vertical offset from the baseline, and its horizontal offset."""
    width = max(1.5, STROKE * h * pen * rng.uniform(0.7, 1.2))
    if symbol == ".":
        return (styles.draw([[(0.5, 0.5), (0.55, 0.55)]], max(2, int(width)), rng, width, aspect=1.0, wobble=0),
                -width * rng.uniform(0.5, 1.2)), 0.0
    if symbol == ",":
        return (styles.draw([[(0.6, 0.0), (0.3, 1.0)]], int(rng.uniform(0.12, 0.3) * h), rng, width, aspect=0.6),
                rng.uniform(0.0, 0.15) * h), 0.0
    if symbol == "-":
        length = rng.uniform(0.25, 0.6) * h
        return (styles.draw([[(0.0, 0.5), (1.0, 0.45)]], max(2, int(width)), rng, width,
                            aspect=length / max(2, int(width)), wobble=0.01), -0.5 * h), 0.0
    if symbol == "—":
        length = rng.uniform(0.6, 1.6) * h
        return (styles.draw([[(0.0, 0.5), (1.0, 0.5 + rng.uniform(-0.5, 0.5))]], max(2, int(width)), rng, width,
                            aspect=length / max(2, int(width)), wobble=0.01), -rng.uniform(0.3, 0.6) * h), 0.0
    if symbol == "=":
        length = rng.uniform(0.3, 0.7) * h
        return (styles.draw([[(0.0, 0.2), (1.0, 0.2)], [(0.0, 0.8), (1.0, 0.8)]], int(0.3 * h), rng, width,
                            aspect=length / (0.3 * h), wobble=0.02), -0.35 * h), 0.0
    # "/": taller than a digit and leaning further, from below the baseline
    return (styles.draw([[(0.0, 1.0), (1.0, 0.0)]], int(1.15 * h), rng, width, aspect=rng.uniform(0.35, 0.6)),
            0.1 * h), 0.0


def _underline(placed: list[tuple[np.ndarray, int, int, int]], h: int, pen: float,
               rng: np.random.Generator) -> tuple[np.ndarray, int, int, int]:
    """A line under the whole number, a little longer than it, sometimes touching the digits' feet."""
    left = min(x for _, x, _, _ in placed) - rng.uniform(0.0, 0.3) * h
    right = max(x + g.shape[1] for g, x, _, _ in placed) + rng.uniform(0.0, 0.3) * h
    bottom = max(y + g.shape[0] for g, _, y, _ in placed) + rng.uniform(-0.02, 0.25) * h
    width = max(1.5, STROKE * h * pen * rng.uniform(0.5, 1.1))
    rise = rng.uniform(-0.15, 0.15)
    band = max(2, int(width * 2 + abs(rise) * h))
    line = styles.draw([[(0.0, 0.5 + rise), (1.0, 0.5 - rise)]], band, rng, width,
                       aspect=(right - left) / band, wobble=0.005)
    return line, int(left), int(bottom - band / 2), OTHER_MARK


def _paste(placed: list[tuple[np.ndarray, int, int, int]], label: str, h: int, slant: float) -> Layout:
    """Put every mark on one canvas, shear it by ``slant``, and keep the strongest mark's owner per pixel."""
    margin = int(0.4 * h)
    x0 = min(x for _, x, _, _ in placed)
    y0 = min(y for _, _, y, _ in placed)
    width = max(x + g.shape[1] for g, x, _, _ in placed) - x0 + 2 * margin
    height = max(y + g.shape[0] for g, _, y, _ in placed) - y0 + 2 * margin
    ink = np.zeros((height, width), np.float32)
    owners = np.zeros((height, width), np.int16)
    for glyph, x, y, owner in placed:
        top, left = y - y0 + margin, x - x0 + margin
        region = (slice(top, top + glyph.shape[0]), slice(left, left + glyph.shape[1]))
        stronger = (glyph > 0.5) & (glyph >= ink[region])
        owners[region][stronger] = owner
        np.maximum(ink[region], glyph, out=ink[region])
    shear_room = int(abs(slant) * height)
    matrix = np.float32([[1, -slant, slant * height + (0 if slant >= 0 else shear_room)], [0, 1, 0]])
    size = (width + shear_room, height)
    ink = cv2.warpAffine(ink, matrix, size, flags=cv2.INTER_LINEAR)
    owners = cv2.warpAffine(owners, matrix, size, flags=cv2.INTER_NEAREST)
    boxes = []
    for index in range(len(label)):
        ys, xs = np.nonzero(owners == index + 1)
        boxes.append((int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1) if len(ys)
                     else (0, 0, 0, 0))
    return Layout(ink=ink, owners=owners, label=label, boxes=boxes, digit_height=float(h))
