"""Grouping strokes into candidate digits, and splitting touching digits, with a stub scorer in place of
the networks, so the segmentation is checked on its own."""

from __future__ import annotations

import cv2
import numpy as np

from recognizer.ink import find_ink
from recognizer.reading import best_readings
from recognizer.segment import candidates, strokes


def page(width: int = 320, height: int = 160) -> np.ndarray:
    return np.full((height, width), 230, np.uint8)


def test_a_digit_in_two_strokes_is_one_candidate():
    """A 5 whose flag does not touch its body, and a 1: some piece holds the whole 5, flag and body."""
    image = page()
    cv2.line(image, (110, 40), (150, 40), 20, 6)  # the flag
    cv2.line(image, (110, 50), (108, 80), 20, 6)  # the body...
    cv2.ellipse(image, (125, 100), (22, 22), 0, -120, 150, 20, 6)
    cv2.line(image, (200, 40), (200, 122), 20, 6)  # a 1
    ink = find_ink(image)
    assert len(strokes(ink)) == 3
    found = candidates(ink)
    assert 80 <= found.digit_height <= 95  # the 5 with its flag is as tall as the 1
    whole_five = [p.box for p in found.pieces if p.box[1] <= 40 and p.box[1] + p.box[3] >= 120
                  and p.box[0] + p.box[2] <= 160]
    assert whole_five, [p.box for p in found.pieces]
    assert any(abs(p.box[0] - 197) <= 3 and p.box[2] <= 10 for p in found.pieces)  # and the 1 alone


def test_touching_zeros_are_split_where_a_stub_scorer_wants():
    """Two zeros drawn overlapping are one stroke. A scorer that believes only pieces one zero wide (and
    reads every piece as a 0) gets "00", cut where the zeros overlap."""
    image = page()
    for left in (60, 108):
        cv2.ellipse(image, (left + 26, 80), (26, 40), 0, 0, 360, 20, 6)
    found = candidates(find_ink(image))
    widths = np.array([p.box[2] for p in found.pieces])
    one_zero = (widths >= 45) & (widths <= 65)
    piece_probs = np.where(one_zero[:, None], [0.98, 0.01, 0.01], [0.01, 0.01, 0.98]).astype(np.float32)
    digit_probs = np.full((len(found.pieces), 10), 0.01, np.float32)
    digit_probs[:, 0] = 0.91
    best = best_readings(found, digit_probs, piece_probs)[0]
    assert best.number == "00"
    first, second = (found.pieces[i].box for i in best.pieces)
    assert abs(first[0] + first[2] - 111) <= 8 and abs(second[0] - 111) <= 8
