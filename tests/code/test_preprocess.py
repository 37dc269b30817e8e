"""Which decoded size a photo is read at: the glance for a close-up digit, detail for small writing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognizer.decode import WORK_SIDE
from recognizer.preprocess import DETAIL_SIDE, GLANCE_SIDE, MIN_WRITING_PX, find_candidates
from tests.photo_factory import digit_photo


@pytest.fixture(scope="module")
def digits(mnist):
    return [mnist["x_test"][np.flatnonzero(mnist["y_test"] == d)[0]] for d in (3, 5, 8)]


def test_a_close_up_digit_is_read_at_the_glance(digits):
    found = find_candidates(digit_photo(digits[:1], np.random.default_rng(0), size=1280, digit_height=0.5))
    assert max(found.shape) == GLANCE_SIDE and found.candidates is not None
    # Its boxes still land on the digit in the original photo's pixels: a 640-px MNIST field in the middle,
    # whose ink is about 20/28 of it (some 460 px) tall.
    x, y, w, h = found.original_box(max(found.candidates.pieces, key=lambda p: p.box[3]).box)
    assert 320 <= y and y + h <= 960 and h >= 400 and 320 <= x and x + w <= 960


def test_a_number_legible_at_the_glance_is_still_read_at_the_working_size(digits):
    """Cutting a number costs the same at any size, so its resolution is not given up to save the ink search."""
    found = find_candidates(digit_photo(digits, np.random.default_rng(0), size=1280, digit_height=0.3))
    assert max(found.shape) == WORK_SIDE and found.candidates.atom_count >= 3


def test_small_writing_is_read_from_a_sharper_decode(digits):
    found = find_candidates(digit_photo(digits, np.random.default_rng(0), size=1280, digit_height=0.05))
    assert max(found.shape) == DETAIL_SIDE and found.offset != (0, 0)
    assert found.candidates is not None and found.candidates.atom_count >= 3


def test_writing_too_small_to_be_meant_is_no_writing(digits):
    """Specks and grain as tall as a digit 8 px high in a 1280-px photo are not read; a 15-px digit is."""
    tiny = find_candidates(digit_photo(digits, np.random.default_rng(0), size=1280, digit_height=0.006))
    assert tiny.candidates is None
    small = find_candidates(digit_photo(digits, np.random.default_rng(0), size=1280, digit_height=0.012))
    assert small.candidates is not None and small.candidates.digit_height * small.to_original >= MIN_WRITING_PX


def test_a_photo_no_larger_than_the_glance_is_read_as_it_is(digits):
    found = find_candidates(digit_photo(digits[:1], np.random.default_rng(0), size=GLANCE_SIDE, digit_height=0.6))
    assert found.shape == (GLANCE_SIDE, GLANCE_SIDE) and found.to_original == 1.0


def test_only_a_jpeg_gets_a_glance(digits):
    """Other formats are decoded whole at every size, so a glance would only add a decode."""
    photo = cv2.imdecode(np.frombuffer(digit_photo(digits[:1], np.random.default_rng(0), size=1280, digit_height=0.5),
                                       np.uint8), cv2.IMREAD_COLOR)
    found = find_candidates(cv2.imencode(".png", photo)[1].tobytes())
    assert max(found.shape) == WORK_SIDE and found.candidates is not None


def test_a_jpeg_larger_than_telegram_sends_gets_no_glance(digits):
    """Its 1/8 decode costs about what the working size's does: a failed glance would pay it twice."""
    found = find_candidates(digit_photo(digits[:1], np.random.default_rng(0), size=1600, digit_height=0.5))
    assert max(found.shape) == WORK_SIDE and found.candidates is not None
