"""Written numbers rendered the way users send them: phone photos of paper, and small noisy scans.

A photo puts the writing on paper of some colour (plain, ruled or squared), sometimes lying on a
table with the paper's edge in view, under uneven light and now and then a hand's shadow, in ink of
some colour and pressure, seen slightly askew, blurred, noisy and JPEG-compressed. A scan is a
small grey image of an amount on a patterned security background, as on a bank cheque. Every
renderer also returns the owner map (``training.numbers``) in the output's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.numbers import Layout

PAPERS = ((235, 235, 230), (245, 243, 238), (210, 212, 215), (225, 230, 240), (240, 232, 200), (200, 220, 240),
          (235, 210, 220), (190, 190, 185))
INKS = ((25, 25, 30), (30, 40, 120), (20, 30, 80), (150, 30, 35), (90, 90, 95), (20, 80, 40), (40, 40, 45))
# Share of single-digit photos taken close up; the rest place the digit as small as a number on a page.
CLOSE_UP_SHARE = 0.7
TABLES = ((60, 45, 35), (120, 85, 55), (40, 40, 45), (170, 170, 175), (80, 100, 140), (150, 60, 60), (20, 20, 20))


@dataclass
class Scene:
    """An encoded picture of a written number and the owner of each of its pixels."""

    data: bytes  # the encoded picture (JPEG)
    owners: np.ndarray  # int16, the picture's size: i + 1 for the i-th digit, -1 other marks, 0 paper
    label: str
    kind: str  # "photo" or "scan"


def render(layout: Layout, rng: np.random.Generator, kind: str | None = None) -> Scene:
    """A photo or (for numbers of two digits or more, half the time) a scan of ``layout``."""
    if kind is None:
        kind = "scan" if len(layout.label) > 1 and rng.random() < 0.45 else "photo"
    return render_scan(layout, rng) if kind == "scan" else render_photo(layout, rng)


def _place(layout: Layout, size: tuple[int, int], digit_px: float, rng: np.random.Generator,
           rotation_deg: float, perspective: float) -> np.ndarray:
    """Homography taking the layout to ``size`` (w, h) with digits ``digit_px`` tall, somewhere inside."""
    lh, lw = layout.ink.shape
    scale = digit_px / layout.digit_height
    w, h = size
    src = np.float32([[0, 0], [lw, 0], [lw, lh], [0, lh]])
    centre = np.float32([lw, lh]) / 2
    angle = np.deg2rad(rotation_deg)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (src - centre) * scale @ rot.T
    dst += rng.normal(0.0, perspective * digit_px, dst.shape).astype(np.float32)
    span = dst.max(axis=0) - dst.min(axis=0)
    room = np.maximum(np.float32([w, h]) - span, 0)
    offset = -dst.min(axis=0) + room * np.float32([rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)])
    return cv2.getPerspectiveTransform(src, (dst + offset).astype(np.float32))


def _warp(layout: Layout, matrix: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ink = cv2.warpPerspective(layout.ink, matrix, size, flags=cv2.INTER_LINEAR)
    owners = cv2.warpPerspective(layout.owners, matrix, size, flags=cv2.INTER_NEAREST)
    return ink, owners


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """Low-frequency random field in [-1, 1] (light falling unevenly, pen pressure)."""
    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def _hand_shadow(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A multiplicative shadow of a hand or phone: a rounded shape entering from one side, soft or sharp."""
    h, w = shape
    mask = np.zeros(shape, np.float32)
    side = int(rng.integers(4))
    centre = [(rng.uniform(0, w), rng.uniform(-0.3, 0.2) * h), (rng.uniform(0.8, 1.3) * w, rng.uniform(0, h)),
              (rng.uniform(0, w), rng.uniform(0.8, 1.3) * h), (rng.uniform(-0.3, 0.2) * w, rng.uniform(0, h))][side]
    axes = (int(rng.uniform(0.25, 0.7) * w), int(rng.uniform(0.25, 0.7) * h))
    cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    if rng.random() < 0.5:  # the arm or the phone's body behind the hand
        pts = np.array([[centre[0], centre[1]], [centre[0] + rng.uniform(-0.3, 0.3) * w, h * 2],
                        [centre[0] + rng.uniform(0.2, 0.6) * w, h * 2]], np.int32)
        cv2.fillConvexPoly(mask, pts, 1.0)
    softness = rng.uniform(0.003, 0.06) * max(h, w)
    mask = cv2.GaussianBlur(mask, (0, 0), softness)
    return 1.0 - rng.uniform(0.15, 0.55) * mask


def _ruling(shape: tuple[int, int], digit_px: float, rng: np.random.Generator) -> np.ndarray:
    """Ruled or squared paper: thin faint lines about a digit height apart (0 = no line, 1 = line)."""
    h, w = shape
    lines = np.zeros(shape, np.float32)
    step = max(6.0, digit_px * rng.uniform(0.6, 1.4))
    phase = rng.uniform(0, step)
    thickness = max(1, int(round(digit_px * 0.03)))
    for y in np.arange(phase, h, step):
        cv2.line(lines, (0, int(y)), (w, int(y + rng.uniform(-2, 2))), 1.0, thickness)
    if rng.random() < 0.4:  # squared paper
        for x in np.arange(rng.uniform(0, step), w, step):
            cv2.line(lines, (int(x), 0), (int(x + rng.uniform(-2, 2)), h), 1.0, thickness)
    return lines * rng.uniform(0.15, 0.5)


def render_photo(layout: Layout, rng: np.random.Generator) -> Scene:
    """A phone photo: the number on paper under real-world light, or a tight crop of one."""
    crop = rng.random() < 0.2
    lh, lw = layout.ink.shape
    if crop:  # a small tight crop around the writing, as people cut digits out of a bigger photo
        layout = _cropped(layout)  # its border may even clip the writing a little
        lh, lw = layout.ink.shape
        digit_px = rng.uniform(20, 110)
        scale = digit_px / layout.digit_height
        w = int(lw * scale * rng.uniform(0.95, 1.6)) + 2
        h = int(lh * scale * rng.uniform(0.95, 1.6)) + 2
    else:
        longest = int(rng.choice([640, 800, 960, 1280]))
        aspect = float(rng.choice([0.75, 1.0, 1.33, 0.56]))
        w, h = (longest, int(longest * aspect)) if aspect <= 1 else (int(longest / aspect), longest)
        # One digit sent to be read is mostly photographed close up (it spans about 40-95% of the short
        # side in the dev photos); a number, and now and then a digit too, is a small part of a page.
        close_up = len(layout.label) == 1 and rng.random() < CLOSE_UP_SHARE
        low, high = (0.3, 0.9) if close_up else (0.06, 0.6)
        fraction = np.exp(rng.uniform(np.log(low), np.log(high)))
        digit_px = fraction * min(w, h)
        digit_px = min(digit_px, 0.92 * w * layout.digit_height / lw, 0.9 * h * layout.digit_height / lh)
    matrix = _place(layout, (w, h), digit_px, rng, rng.normal(0, 3.5), 0.0 if crop else rng.uniform(0, 0.08))
    ink, owners = _warp(layout, matrix, (w, h))

    paper = np.array(PAPERS[int(rng.integers(len(PAPERS)))], np.float32) + rng.normal(0, 6, 3)
    image = np.empty((h, w, 3), np.float32)
    image[:] = paper
    if not crop and rng.random() < 0.3:
        _table_around_paper(image, owners, rng)
    if rng.random() < 0.2:
        ruling = _ruling((h, w), digit_px, rng)
        line_colour = np.array(rng.choice([(90, 120, 200), (120, 120, 120), (200, 100, 100)]), np.float32)
        image = image * (1 - ruling[..., None]) + line_colour * ruling[..., None]
    image += rng.normal(0, rng.uniform(0, 5), (h, w, 1)).astype(np.float32)  # paper grain

    colour = np.array(INKS[int(rng.integers(len(INKS)))], np.float32) + rng.normal(0, 8, 3)
    pressure = rng.uniform(0.55, 1.0) + rng.uniform(0.0, 0.3) * _smooth_field((h, w), rng, 6)
    alpha = np.clip(ink * pressure, 0, 1)[..., None]
    image = image * (1 - alpha) + colour * alpha

    light = 1.0 - rng.uniform(0.0, 0.45) * (0.5 + 0.5 * _smooth_field((h, w), rng, int(rng.integers(2, 5))))
    if not crop and rng.random() < 0.25:
        light = light * _hand_shadow((h, w), rng)
    image *= light[..., None]
    image = _camera(image, rng, blur_px=rng.choice([0.0, rng.uniform(0.3, 1.0), rng.uniform(1.0, 2.5)])
                    * max(1.0, digit_px / 60))
    if rng.random() < 0.05:  # light writing on a dark background (a blackboard, an inverted scan)
        image = 255.0 - image
    if rng.random() < 0.05:  # contrast boosted by the phone or the user
        image = (image - 128.0) * rng.uniform(1.5, 2.5) + 128.0
    return Scene(_jpeg(image, rng), owners, layout.label, "photo")


def _table_around_paper(image: np.ndarray, owners: np.ndarray, rng: np.random.Generator) -> None:
    """Let a table show beyond one or two of the paper's edges, never over the writing."""
    h, w = owners.shape
    ys, xs = np.nonzero(owners)
    if len(ys) == 0:
        return
    table = np.array(TABLES[int(rng.integers(len(TABLES)))], np.float32) + rng.normal(0, 10, 3)
    texture = 12 * _smooth_field((h, w), rng, 24)[..., None]
    mask = np.zeros((h, w), np.uint8)
    for side in rng.choice(4, int(rng.integers(1, 3)), replace=False):
        depth = rng.uniform(0.1, 0.6)
        tilt = rng.uniform(-0.15, 0.15)
        if side == 0:  # left edge, between the photo's border and the writing
            edge = xs.min() * depth
            pts = [(0, 0), (edge + tilt * h, 0), (edge - tilt * h, h), (0, h)]
        elif side == 1:
            edge = w - (w - xs.max()) * depth
            pts = [(w, 0), (edge + tilt * h, 0), (edge - tilt * h, h), (w, h)]
        elif side == 2:
            edge = ys.min() * depth
            pts = [(0, 0), (w, 0), (w, edge + tilt * w), (0, edge - tilt * w)]
        else:
            edge = h - (h - ys.max()) * depth
            pts = [(0, h), (w, h), (w, edge + tilt * w), (0, edge - tilt * w)]
        cv2.fillPoly(mask, [np.array(pts, np.int32)], 1)
    mask[owners != 0] = 0
    image[mask.astype(bool)] = (table + texture)[mask.astype(bool)]


def _camera(image: np.ndarray, rng: np.random.Generator, blur_px: float) -> np.ndarray:
    if blur_px > 0.2:
        image = cv2.GaussianBlur(image, (0, 0), blur_px)
    if rng.random() < 0.08:  # a shaking hand
        length = int(rng.integers(3, 9))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    return image + rng.normal(0, rng.uniform(1, 7), image.shape).astype(np.float32)


def _jpeg(image: np.ndarray, rng: np.random.Generator) -> bytes:
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    if pixels.ndim == 3:
        pixels = pixels[..., ::-1]  # OpenCV writes BGR
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 96))])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def _cropped(layout: Layout) -> Layout:
    """The layout cut down to its ink, with a pixel to spare (as it is when there is none: a blank page)."""
    ys, xs = np.nonzero(layout.ink > 0.05)
    if len(ys) == 0:
        return layout
    top, left = max(0, ys.min() - 1), max(0, xs.min() - 1)
    bottom, right = ys.max() + 2, xs.max() + 2
    boxes = [(x - left, y - top, bw, bh) for x, y, bw, bh in layout.boxes]
    return Layout(layout.ink[top:bottom, left:right], layout.owners[top:bottom, left:right], layout.label, boxes,
                  layout.digit_height)


def _security_pattern(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Fine wavy lines like a cheque's guilloche background (0 = none, 1 = line)."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    pattern = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(1, 4))):
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(3.0, 9.0)
        wave = rng.uniform(0, 6) * np.sin(2 * np.pi * (x * np.sin(angle) - y * np.cos(angle)) / rng.uniform(30, 120))
        phase = (x * np.cos(angle) + y * np.sin(angle) + wave) / period
        pattern = np.maximum(pattern, np.clip(1.0 - np.abs(phase - np.round(phase)) * rng.uniform(4, 10), 0, 1))
    return pattern


def render_scan(layout: Layout, rng: np.random.Generator) -> Scene:
    """A small grey scan of an amount on a cheque: patterned background, low contrast, a rule or a box."""
    digit_px = rng.uniform(18, 48)
    layout = _cropped(layout)
    lh, lw = layout.ink.shape
    scale = digit_px / layout.digit_height
    # Amount fields are cut tightly around the writing.
    w = int(lw * scale * rng.uniform(1.02, 1.2)) + 4
    h = int(max(lh * scale * rng.uniform(1.02, 1.2), digit_px * rng.uniform(1.05, 1.6))) + 4
    matrix = _place(layout, (w, h), digit_px, rng, rng.normal(0, 2.0), 0.0)
    ink, owners = _warp(layout, matrix, (w, h))
    background = rng.uniform(140, 235)
    image = np.full((h, w), background, np.float32)
    image -= rng.uniform(5, 70) * _security_pattern((h, w), rng)
    image += rng.uniform(0, 12) * _smooth_field((h, w), rng, 3)
    if rng.random() < 0.35:  # the amount box's rule, or its top and bottom
        for y in ([h - int(rng.integers(1, 5))] if rng.random() < 0.6 else [int(rng.integers(0, 3)), h - 2]):
            cv2.line(image, (0, y), (w, y + int(rng.integers(-1, 2))), float(background - rng.uniform(40, 110)), 1)
    darkness = rng.uniform(20, 100)
    alpha = np.clip(ink * rng.uniform(0.7, 1.0), 0, 1)
    image = image * (1 - alpha) + darkness * alpha
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.9))
    image += rng.normal(0, rng.uniform(1, 6), image.shape).astype(np.float32)
    return Scene(_jpeg(image, rng), owners, layout.label, "scan")
