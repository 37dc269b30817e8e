"""The ink of a photo: which side is ink, how strong, which pixels are strokes, what is paper or ruling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognizer.ink import find_ink, ink_is_dark, ink_strength, open_along


def page(width: int = 320, height: int = 160, paper: int = 220) -> np.ndarray:
    return np.full((height, width), paper, np.uint8)


def stroke_boxes(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of every piece found to be a stroke."""
    ink = find_ink(grey)
    return [tuple(int(v) for v in ink.stats[label, :4]) for label in np.flatnonzero(ink.stroke)]


def one_stroke(x: int = 100, value: int = 30) -> np.ndarray:
    image = page()
    cv2.line(image, (x, 40), (x, 120), value, 6)
    return image


def test_dark_ink_on_light_paper_and_light_ink_on_dark():
    assert ink_is_dark(one_stroke())
    assert not ink_is_dark(255 - one_stroke())  # chalk on a blackboard, MNIST itself


def test_a_page_on_a_dark_table_has_dark_ink_though_the_table_fills_the_border():
    image = np.full((240, 320), 60, np.uint8)  # a dark desk all around
    image[40:200, 30:290] = 215  # the page, more than half of the photo
    cv2.line(image, (120, 70), (120, 170), 30, 5)
    cv2.circle(image, (190, 120), 40, 30, 5)
    assert ink_is_dark(image)


def test_strength_is_high_on_the_stroke_and_zero_on_the_paper():
    strength = ink_strength(one_stroke())
    assert strength[80, 100] > 200 and strength[:, :80].max() == 0 and strength[:, 120:].max() == 0


@pytest.mark.parametrize("invert", [False, True])
def test_a_stroke_is_found_where_it_was_drawn(invert):
    image = one_stroke()
    boxes = stroke_boxes(255 - image if invert else image)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert abs(x - 97) <= 2 and abs(y - 37) <= 2 and 5 <= w <= 9 and 84 <= h <= 90


def test_marks_fainter_than_the_minimum_contrast_are_paper():
    assert stroke_boxes(one_stroke(value=205)) == []  # 15 grey levels on 220 paper: a smudge, not writing
    assert stroke_boxes(page()) == []


def test_ruled_lines_go_and_the_digit_crossing_them_stays():
    image = page()
    for y in (30, 70, 110, 150):
        cv2.line(image, (0, y), (319, y), 140, 1)
    cv2.line(image, (160, 35), (160, 125), 30, 6)
    boxes = stroke_boxes(image)
    assert len(boxes) == 1 and abs(boxes[0][0] - 157) <= 2 and boxes[0][3] >= 88


def test_a_shadow_across_the_page_is_not_ink():
    image = (page().astype(np.float32) * np.linspace(0.45, 1.0, 320)[None, :]).astype(np.uint8)  # dark left edge
    cv2.line(image, (60, 40), (60, 120), 15, 6)  # in the shadow
    cv2.line(image, (250, 40), (250, 120), 30, 6)  # in the light
    assert sorted(x for x, _, _, _ in stroke_boxes(image)) == [57, 247]


def test_a_digit_in_a_paler_pen_beside_a_dark_one_is_a_stroke_too():
    """Otsu's threshold falls between the two inks; the pale stroke still reaches the minimum contrast."""
    image = one_stroke(x=100, value=20)  # dark ink
    cv2.line(image, (200, 50), (200, 120), 140, 6)  # a pale pen, 70 px tall: about 36% darker than the paper
    cv2.line(image, (260, 90), (266, 90), 140, 4)  # a pale dash, short: no digit, so no stroke
    boxes = stroke_boxes(image)
    assert any(abs(x + w / 2 - 100) < 6 for x, _, w, _ in boxes)
    assert any(abs(x + w / 2 - 200) < 6 and h >= 60 for x, _, w, h in boxes), boxes
    assert not any(x >= 250 for x, *_ in boxes), boxes


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("outside", [None, 0])
def test_opening_along_rows_or_columns_is_opencvs(axis, outside):
    """The fast opening gives OpenCV's pixels, for odd and even lengths, lengths longer than the image,
    grey images and masks, with OpenCV's default border and with a zero border."""
    rng = np.random.default_rng(axis * 2 + (outside is None))
    border = {} if outside is None else {"borderType": cv2.BORDER_CONSTANT, "borderValue": 0}
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(1, 70, 2))
        length = int(rng.integers(1, 90))
        image = rng.integers(0, 256, (height, width)).astype(np.uint8)
        if rng.random() < 0.5:
            image = (rng.random((height, width)) < 0.7).astype(np.uint8)
        kernel = np.ones((1, length) if axis == 1 else (length, 1), np.uint8)
        expected = cv2.morphologyEx(image, cv2.MORPH_OPEN, kernel, **border)
        np.testing.assert_array_equal(open_along(image, length, axis, outside), expected)
