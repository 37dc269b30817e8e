"""MNIST's exact format: a 20-px box with the aspect ratio kept, MNIST's stroke width, centred by mass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognizer.mnist_format import MNIST_BOX, MNIST_SIZE, center_by_mass, fit_measured, fit_to_mnist, stroke_width


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Width and height of the ink."""
    ys, xs = np.nonzero(image)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    moments = cv2.moments(image)
    return moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]


def test_a_tall_digit_fills_the_box_in_height_and_keeps_its_aspect():
    bar = np.zeros((300, 40), np.uint8)
    bar[:, 10:30] = 1  # 15 times taller than wide
    fitted = fit_to_mnist(bar)
    assert fitted.shape == (MNIST_SIZE, MNIST_SIZE) and fitted.dtype == np.uint8
    width, height = ink_box(fitted)
    assert height == MNIST_BOX and width <= 3


def test_a_wide_digit_fills_the_box_in_width():
    dash = np.zeros((50, 400), np.uint8)
    dash[10:40, :] = 1
    width, height = ink_box(fit_to_mnist(dash))
    assert width == MNIST_BOX and height <= 3


def test_the_centre_of_mass_is_the_centre_of_the_field():
    lopsided = np.zeros((100, 100), np.uint8)
    cv2.line(lopsided, (10, 10), (90, 90), 1, 8)
    cv2.rectangle(lopsided, (60, 60), (95, 95), 1, -1)  # heavy at the bottom right
    x, y = centre_of_mass(fit_to_mnist(lopsided))
    assert abs(x - 13.5) < 0.5 and abs(y - 13.5) < 0.5
    corner = np.zeros((20, 20), np.uint8)
    corner[:5, :5] = 255
    assert centre_of_mass(center_by_mass(corner)) == pytest.approx((13.5, 13.5), abs=0.2)


def ring(pen: int) -> np.ndarray:
    image = np.zeros((200, 200), np.uint8)
    cv2.circle(image, (100, 100), 70, 1, pen)
    return image


@pytest.mark.parametrize("pen", [3, 12, 30])
def test_every_pen_comes_out_with_mnist_stroke_width(pen):
    """Rings drawn 3 to 30 px thick (2% to 20% of their size) all come out 1.5-3 px thick, as MNIST's 2.25 px."""
    fitted = fit_to_mnist(ring(pen))
    assert 1.5 <= stroke_width((fitted >= 128).astype(np.uint8)) <= 3.0


def test_the_pen_width_is_measured_before_normalising():
    measured = [fit_measured(ring(pen))[1] for pen in (3, 12, 30)]
    assert measured[0] < 6 and measured[1] == pytest.approx(12, rel=0.15) and measured[2] == pytest.approx(30, rel=0.15)


def test_no_ink_gives_an_empty_field():
    assert not fit_to_mnist(np.zeros((30, 30), np.uint8)).any()
