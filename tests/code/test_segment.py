"""Cutting writing into candidate pieces: atoms, cuts between touching digits, underlines, digit height."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognizer.ink import Ink, find_ink
from recognizer.segment import (
    FEATURE_COUNT,
    MAX_ATOMS_PER_PIECE,
    WIDEST_PIECE,
    WRITING_DIGIT_PX,
    WRITING_MARGIN_PX,
    WRITING_MAX_COLS,
    WRITING_MAX_ROWS,
    Stroke,
    candidates,
    digit_height,
    strokes,
)


def page(width: int = 320, height: int = 160) -> np.ndarray:
    return np.full((height, width), 230, np.uint8)


def draw_zero(image: np.ndarray, left: int, top: int = 40, size: int = 80) -> None:
    cv2.ellipse(image, (left + size // 3, top + size // 2), (size // 3, size // 2), 0, 0, 360, 20, 6)


def draw_one(image: np.ndarray, left: int, top: int = 40, size: int = 80) -> None:
    cv2.line(image, (left, top), (left, top + size), 20, 6)


def test_separate_digits_are_atoms_and_every_piece_is_described():
    image = page()
    draw_one(image, 60)
    draw_zero(image, 120)
    found = candidates(find_ink(image))
    assert found is not None
    assert found.atom_count == 2
    spans = {(p.start, p.stop) for p in found.pieces}
    assert spans == {(0, 1), (1, 2), (0, 2)}
    assert found.features.shape == (3, FEATURE_COUNT) and np.isfinite(found.features).all()
    assert found.mnist.shape == (3, 28, 28)
    assert 75 <= found.digit_height <= 90


def test_touching_digits_are_cut_where_they_might_meet():
    image = page()
    draw_zero(image, 60)
    draw_zero(image, 108)  # the two zeros overlap: one stroke
    ink = find_ink(image)
    assert len(strokes(ink)) == 1
    found = candidates(ink)
    assert found is not None and found.atom_count > 2
    # Some pair of neighbouring cut points frames each zero on its own (within a few pixels).
    lefts = {p.box[0] for p in found.pieces}
    rights = {p.box[0] + p.box[2] for p in found.pieces}
    assert min(abs(x - 108) for x in lefts) <= 8
    assert min(abs(x - 114) for x in rights) <= 8


def test_a_wide_digit_drawn_in_one_stroke_stays_one_candidate():
    """A 2 with a long wavy foot: every column of the foot is about one stroke thin, so cutting at each
    small dip would shatter it into more atoms than one piece may hold, and the whole 2 would never be read."""
    image = page(400, 200)
    top = [(120 + 40 * np.cos(a), 70 - 35 * np.sin(a)) for a in np.linspace(np.pi, -0.3 * np.pi, 20)]
    foot = [(105 + x, 160 + 3 * np.sin(x / 3.0)) for x in range(0, 150, 2)]
    cv2.polylines(image, [np.int32(top + [(105, 160)])], False, 20, 4)
    cv2.polylines(image, [np.int32(foot)], False, 20, 4)
    found = candidates(find_ink(image))
    assert found is not None
    x0, x1 = 103, 257
    whole = [p for p in found.pieces if p.box[0] <= x0 + 4 and p.box[0] + p.box[2] >= x1 - 4]
    assert whole, f"no candidate holds the whole digit ({found.atom_count} atoms)"


def test_no_piece_is_wider_than_a_digit_can_be_or_holds_too_many_atoms():
    image = page(640)
    for left in range(40, 560, 44):
        draw_zero(image, left)
    found = candidates(find_ink(image))
    assert found is not None
    for piece in found.pieces:
        assert piece.stop - piece.start <= MAX_ATOMS_PER_PIECE
        if piece.stop - piece.start > 1:
            assert piece.box[2] <= WIDEST_PIECE * found.digit_height + 1


def test_an_underline_touching_the_digits_becomes_atoms_of_its_own():
    image = page()
    draw_one(image, 60)
    draw_zero(image, 120)
    cv2.line(image, (40, 121), (240, 121), 20, 5)  # touches the foot of the 1 and of the 0
    ink = find_ink(image)
    assert len(strokes(ink)) == 1
    found = candidates(ink)
    assert found is not None
    # The 1 alone and the 0 alone are candidates again, without the line.
    boxes = [p.box for p in found.pieces]
    assert any(abs(x - 57) <= 4 and w <= 12 for x, _, w, _ in boxes)
    assert any(abs(x - 117) <= 4 and 45 <= w <= 65 and h <= 85 for x, _, w, h in boxes)


def test_strokes_running_into_the_border_do_not_set_the_digit_height():
    table = Stroke(1, 0, 0, 100, 300, 20_000)  # a dark table beyond the paper's edge
    digit = Stroke(2, 150, 120, 30, 50, 400)
    assert digit_height([table, digit], (300, 400)) == 50
    # In a tight crop the digit itself touches the border, and it does count.
    cropped = Stroke(3, 0, 0, 30, 50, 400)
    speck = Stroke(4, 12, 20, 3, 3, 9)
    assert digit_height([cropped, speck], (50, 30)) == 50


def ink_of(mask: np.ndarray) -> Ink:
    """The ink of a binary picture (255 = ink), every piece a stroke: the strokes exactly as drawn."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    return Ink(strength=mask, labels=labels, stats=stats, stroke=np.arange(count) > 0)


def test_a_table_beyond_the_paper_is_not_writing():
    """A dark table that the paper estimate took for ink: a solid region, many pens thick, along the border."""
    mask = np.zeros((240, 320), np.uint8)
    cv2.line(mask, (140, 40), (140, 130), 255, 6)
    cv2.ellipse(mask, (210, 85), (30, 45), 0, 0, 360, 255, 6)
    cv2.fillPoly(mask, [np.array([(0, 240), (320, 240), (320, 180), (0, 205)], np.int32)], 255)
    found = strokes(ink_of(mask))
    assert len(found) == 2 and max(s.bottom for s in found) < 180
    assert 85 <= digit_height(found, mask.shape) <= 100


@pytest.mark.parametrize("holes", [False, True])
def test_a_table_around_a_corner_of_the_paper_is_not_writing(holes):
    """A table along two sides of the photo is an L, whose convex hull is mostly the page: it does not fill
    its hull, with or without the holes a textured table leaves in the ink, yet it is no writing."""
    mask = np.zeros((240, 320), np.uint8)
    mask[:, :50] = 255  # the table beyond the paper's left edge...
    mask[190:, :] = 255  # ...and below its bottom edge
    if holes:
        for y in range(10, 240, 24):
            for x in range(8, 320, 24):
                cv2.circle(mask, (x, y), 5, 0, -1)
    cv2.line(mask, (140, 60), (140, 150), 255, 6)
    cv2.ellipse(mask, (210, 105), (30, 45), 0, 0, 360, 255, 6)
    found = strokes(ink_of(mask))
    assert len(found) == 2 and min(s.x for s in found) > 100
    assert 85 <= digit_height(found, mask.shape) <= 100


def test_a_bold_digit_in_a_tight_crop_is_kept_beside_a_tick():
    """A marker's 1 cut by the crop runs along the border and is many times as thick as a pen's tick beside
    it; it is still the writing, not a desk."""
    mask = np.zeros((200, 120), np.uint8)
    mask[:, :36] = 255  # the 1, its left side cut by the crop
    cv2.line(mask, (80, 90), (86, 98), 255, 2)  # a tick of a thin pen
    found = strokes(ink_of(mask))
    assert any(s.x == 0 and s.h == 200 for s in found)


@pytest.mark.parametrize("pen", [2, 4])
def test_a_digit_cut_by_a_tight_crop_is_kept_beside_a_mark(pen):
    """A bold 0 cut by the crop runs along the border and is many pens thick by the pen of a tick beside
    it, even a tick a fifth of its height; it does not fill its hull, so it is still the writing."""
    mask = np.zeros((200, 160), np.uint8)
    cv2.ellipse(mask, (30, 100), (55, 85), 0, 0, 360, 255, 26)  # the 0, its left side cut by the crop
    cv2.line(mask, (130, 80), (138, 120), 255, pen)  # a tick, 40 px tall
    found = strokes(ink_of(mask))
    assert any(s.x == 0 and s.h >= 150 for s in found)


def test_a_digit_cut_by_a_tight_crop_is_kept_beside_dashes():
    """A 2 cut by the crop along its back, beside a 7 of the same pen and three thin dashes: the dashes set
    the pen, by which the 2 is many pens thick, but it runs along less than a side of the photo, so it
    stays (a helper's made photo, "72" read as "7, 94% sure" while it went)."""
    mask = np.zeros((240, 320), np.uint8)
    cv2.polylines(mask, [np.array([(40, 50), (130, 50), (80, 190)], np.int32)], False, 255, 14)  # the 7
    two = np.array([(230, 50), (326, 50), (326, 120), (230, 190), (330, 190)], np.int32)
    cv2.polylines(mask, [two], False, 255, 14)  # its back runs out of the photo on the right
    for x in (30, 110, 190):
        cv2.line(mask, (x, 236), (x + 40, 214), 255, 3)  # thin dashes under the number
    found = strokes(ink_of(mask))
    assert any(s.right == 320 and s.h >= 150 for s in found)


def test_a_thick_frame_that_the_writing_touches_is_kept():
    """A box printed on a form is lines, however thick: the digits drawn into it are in the same stroke."""
    image = page()
    cv2.rectangle(image, (-20, 12), (339, 147), 20, 24)  # runs out of the photo on the left and right
    draw_one(image, 140, top=24, size=110)  # from the box's top edge to its bottom edge
    draw_zero(image, 200, top=45, size=70)  # and one that touches nothing
    found = strokes(find_ink(image))
    assert len(found) == 2 and max(s.right - s.x for s in found) == image.shape[1]


def test_a_blank_page_has_no_candidates():
    assert candidates(find_ink(page())) is None


def test_the_writing_is_kept_whole_at_mnist_scale():
    """A correction of the count of digits needs all the ink, not the pieces the reading chose."""
    image = page()
    draw_one(image, 60)
    draw_zero(image, 120)
    writing = candidates(find_ink(image)).writing
    assert writing.dtype == np.uint8 and writing.max() == 255
    margin = WRITING_MARGIN_PX
    rows = np.flatnonzero(writing.max(axis=1))
    assert rows[0] == margin and rows[-1] == writing.shape[0] - margin - 1  # cropped to the ink
    assert abs(len(rows) - WRITING_DIGIT_PX) <= 2  # the digits as tall as MNIST's
    cols = np.flatnonzero(writing.max(axis=0))
    gap = np.flatnonzero(writing[:, cols[0]:cols[-1]].max(axis=0) == 0)
    assert len(gap) >= 3  # the 1 and the 0 stay apart: the cutting can be learnt from it


def test_a_very_wide_writing_is_shrunk_to_its_bound():
    image = page(width=4400, height=200)
    for left in range(40, 4300, 120):
        draw_zero(image, left)
    writing = candidates(find_ink(image)).writing
    assert writing.shape[1] == WRITING_MAX_COLS and writing.shape[0] < WRITING_MAX_ROWS  # 36 zeros: 1,000 cols


def test_unread_ink_is_the_share_left_outside_the_pieces_read_as_digits():
    image = page()
    draw_one(image, 60)
    draw_zero(image, 120)
    found = candidates(find_ink(image))
    one = next(i for i, p in enumerate(found.pieces) if (p.start, p.stop) == (0, 1))
    zero = next(i for i, p in enumerate(found.pieces) if (p.start, p.stop) == (1, 2))
    one_ink, zero_ink = found.atom_areas
    assert zero_ink > 1.5 * one_ink  # an ellipse holds more ink than a line as tall
    assert found.unread_ink([one, zero]) == 0.0
    assert found.unread_ink([one]) == pytest.approx(zero_ink / (one_ink + zero_ink))
    assert found.unread_ink([zero]) == pytest.approx(one_ink / (one_ink + zero_ink))
    assert found.unread_ink([]) == 1.0
