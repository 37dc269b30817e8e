"""Model behaviour: MNIST *test* digits (which no model here trained on), rendered as photos, keep their labels.

Every random photo has a fixed seed. The bounds sit a little under what the shipped model reaches on
these exact photos, so a change that costs a few answers fails (a bound of 100% where it is reached).
"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from recognizer import ModelError, Recognizer
from recognizer.model_store import resolve_version_dir
from recognizer.preprocess import PREPROCESSING_VERSION
from tests.photo_factory import blank_page, digit_photo, noise_image
from training.numbers import GlyphSource, LayoutConfig, compose, random_label
from training.scenes import render

VARIANTS = {
    "plain": {},
    "small in a big photo": {"size": 1280, "digit_height": 0.18},
    "large, close up": {"digit_height": 0.8},
    "off centre": {"offset": (0.22, -0.18), "digit_height": 0.35},
    "rotated 12 degrees": {"rotation_deg": 12},
    "rotated -12 degrees": {"rotation_deg": -12},
    "thick marker": {"stroke": 6},
    "thin pen": {"stroke": -3},
    "strong shadow": {"shadow": 0.6},
    "blurred": {"blur": 2.5},
    "low JPEG quality": {"jpeg_quality": 25},
    "light ink on dark": {"dark_ink": False},
    "pink paper": {"paper": (235, 205, 215)},
    "blue ballpoint": {"ink_colour": (40, 60, 170), "stroke": -1},
    "red pen": {"ink_colour": (190, 40, 40)},
    "pencil": {"ink_colour": (120, 120, 125), "stroke": -2},
}
# Of the 40 digits of each variant, at most this many may be misread. Measured for the shipped model
# (20261130T142855Z): none in every variant but "rotated 12 degrees" and "thick marker" (1 each: a 3 read as
# 8); for 20261130T114537Z, "rotated 12 degrees" only (2: a 3 read as 8, a 5 as 6); for 20261130T055054Z at
# 068e7be, "rotated -12 degrees" only (1: a 3 read as 8); for 20261130T030031Z, 2 (a 3 read as 20, a 6 as 10) and 1.
# Others: 1 (a margin for other CPUs).
MISREAD_AT_MOST = {"rotated 12 degrees": 3, "rotated -12 degrees": 2, "thick marker": 2}
# Of 80 synthetic numbers of 2-6 digits: measured 49 read exactly, 30 of the 32 answered "ok" right
# (20261130T142855Z; 20261130T114537Z: 47, and 31 of 35; 20261130T055054Z: 40, and 29 of 30; 20261130T030031Z,
# which gave "ok" from 60%: 43, and 36 of 46).
SYNTHETIC_EXACT_AT_LEAST = 0.5
SYNTHETIC_OK_RIGHT_AT_LEAST = 0.75


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def sample(mnist):
    """Four test digits of each class, chosen without looking at how the model does on them."""
    picks = np.concatenate([np.flatnonzero(mnist["y_test"] == d)[:4] for d in range(10)])
    return mnist["x_test"][picks], mnist["y_test"][picks]


@pytest.mark.parametrize("index, variant", list(enumerate(VARIANTS)))
def test_rendered_digits_keep_their_labels(recognizer, sample, index, variant):
    images, labels = sample
    rng = np.random.default_rng(index)
    read = [recognizer.recognize(digit_photo([image], rng, **VARIANTS[variant])).number for image in images]
    misread = [(r, int(label)) for r, label in zip(read, labels) if r != str(label)]
    assert len(misread) <= MISREAD_AT_MOST.get(variant, 1), (variant, misread)


def test_synthetic_numbers_are_read_and_sure_answers_are_right(recognizer, mnist):
    """Numbers of 2-6 digits written with MNIST test digits, as phone photos and cheque-like scans."""
    source = GlyphSource(mnist["x_test"], mnist["y_test"])
    cfg = LayoutConfig(min_digits=2, max_digits=6, single_share=0.0)
    right, sure, sure_right = 0, 0, 0
    for index in range(80):
        rng = np.random.default_rng([21, index])
        scene = render(compose(random_label(rng, cfg), source, rng), rng)
        result = recognizer.recognize(scene.data)
        right += result.number == scene.label
        sure += result.status == "ok"
        sure_right += result.status == "ok" and result.number == scene.label
    assert right / 80 >= SYNTHETIC_EXACT_AT_LEAST, right
    assert sure and sure_right / sure >= SYNTHETIC_OK_RIGHT_AT_LEAST, (sure, sure_right)


def test_numbers_are_read_left_to_right(recognizer, mnist):
    rng = np.random.default_rng(11)
    x, y = mnist["x_test"], mnist["y_test"]
    for trial in range(10):
        indices = rng.choice(len(x), size=int(rng.integers(2, 5)), replace=False)
        photo = digit_photo(list(x[indices]), rng, digit_height=0.22, size=800, gap=0.1)
        assert recognizer.recognize(photo).number == "".join(str(v) for v in y[indices]), trial


def photo_of_35(mnist) -> np.ndarray:
    x, y = mnist["x_test"], mnist["y_test"]
    first, second = np.flatnonzero(y == 3)[0], np.flatnonzero(y == 5)[0]
    # 640-px photo, digits 192 px tall and 146 px wide, 29 px apart: the gap is centred at x = 320.
    return cv2.imdecode(np.frombuffer(digit_photo([x[first], x[second]], np.random.default_rng(1),
                                                  digit_height=0.3, gap=0.15), np.uint8), cv2.IMREAD_COLOR)


def encode(photo: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", photo)[1].tobytes()


def test_separators_and_underlines_are_not_digits(recognizer, mnist):
    photo = photo_of_35(mnist)
    cv2.circle(photo, (320, 400), 7, (30, 30, 30), -1)  # a decimal point between the digits
    cv2.line(photo, (140, 460), (500, 460), (30, 30, 30), 4)  # an underline
    assert recognizer.recognize(encode(photo)).number == "35"


def test_an_underline_touching_the_digits_is_no_digit(recognizer, mnist):
    photo = photo_of_35(mnist)
    cv2.line(photo, (130, 418), (510, 418), (30, 30, 30), 6)  # through the feet of both digits
    assert recognizer.recognize(encode(photo)).number == "35"


def test_the_papers_edge_and_a_table_are_no_digit(recognizer, mnist):
    photo = photo_of_35(mnist)
    photo[:, :90] = (70, 50, 40)  # a wooden table beyond the paper's left edge
    cv2.line(photo, (90, 0), (90, 640), (120, 120, 120), 3)
    assert recognizer.recognize(encode(photo)).number == "35"


def test_a_hands_shadow_over_the_digits(recognizer, mnist):
    photo = photo_of_35(mnist).astype(np.float32)
    shadow = np.ones(photo.shape[:2], np.float32)
    cv2.ellipse(shadow, (0, 640), (420, 380), 0, 0, 360, 0.55, -1)  # a hand's shadow from the lower left
    photo *= cv2.GaussianBlur(shadow, (0, 0), 6)[..., None]
    result = recognizer.recognize(encode(np.clip(photo, 0, 255).astype(np.uint8)))
    # The shadow's edge runs along the open side of the 3, which then looks much like an 8: the shipped
    # readers have read 35 or 85 here at 35-48% (a coin flip). What must hold: the 5 survives the shadow,
    # the answer is never given as sure unless it is 35, and 35 is the answer or the first alternative.
    readings = [result.number] + [number for number, _ in result.alternatives]
    assert result.number[-1:] == "5" and "35" in readings[:2], result.to_dict()
    assert result.number == "35" or result.status == "unsure", result.to_dict()


def test_a_digit_in_a_paler_pen_is_not_dropped(recognizer, mnist):
    """A dark 6 and a 5 in a pale grey pen beside it (a clean photo): the 5 lies below Otsu's threshold,
    which falls between the two inks, and was dropped while "6" was given as the answer, 99.9% sure."""
    x = mnist["x_test"]
    rng = np.random.default_rng(0)
    common = {"size": 1280, "digit_height": 0.4, "noise": 0, "jpeg_quality": 98}
    dark = cv2.imdecode(np.frombuffer(digit_photo([x[2000]], rng, offset=(-0.13, 0), **common), np.uint8),
                        cv2.IMREAD_COLOR)
    pale = cv2.imdecode(np.frombuffer(digit_photo([x[2003]], rng, offset=(0.13, 0), ink_colour=(140, 140, 150),
                                                  **common), np.uint8), cv2.IMREAD_COLOR)
    photo = cv2.imencode(".jpg", np.minimum(dark, pale), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    result = recognizer.recognize(photo)
    assert len(result.number) == 2 and result.number[0] == "6", result.to_dict()
    assert result.number == "65" or result.status == "unsure", result.to_dict()


def test_result_details(recognizer, mnist):
    seven = mnist["x_test"][0]
    result = recognizer.recognize(digit_photo([seven], np.random.default_rng(2), size=1000))
    assert result.status == "ok" and result.number == "7"
    digit = result.digits[0]
    assert digit.top3[0][0] == 7 and len(digit.top3) == 3
    assert digit.top3[0][1] >= digit.top3[1][1] >= digit.top3[2][1]
    x, y, w, h = digit.box  # in the original 1000x1000 photo's pixels
    assert 250 < x < 500 and 200 < y < 400 and 150 < h < 600
    assert digit.mnist.shape == (28, 28) and digit.mnist.dtype == np.uint8
    assert 0.9 <= result.confidence <= 1.0
    record = result.to_dict()
    assert record["number"] == "7" and record["digits"][0]["box"] == list(digit.box)
    assert all(number != "7" for number, _ in record["alternatives"])


def test_blank_page_has_no_digit(recognizer):
    for seed in range(3):
        assert recognizer.recognize(blank_page(np.random.default_rng(seed))).status == "no_digit"


def test_random_noise_has_no_digit(recognizer):
    for seed in range(5):
        assert recognizer.recognize(noise_image(np.random.default_rng(seed))).status == "no_digit", seed


def test_model_for_another_preprocessing_is_refused(tmp_path):
    version_dir = tmp_path / "v1"
    shutil.copytree(resolve_version_dir(), version_dir)
    manifest = json.loads((version_dir / "manifest.json").read_text())
    manifest["preprocessing_version"] = PREPROCESSING_VERSION + "-old"
    (version_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="preprocessing version"):
        Recognizer.load(version_dir)


def test_classify_checks_its_input(recognizer):
    with pytest.raises(ValueError, match="28, 28"):
        recognizer.classify(np.zeros((2, 20, 20), np.uint8))
