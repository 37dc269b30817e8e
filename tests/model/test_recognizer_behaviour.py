"""Model behaviour: real MNIST test digits, rendered as phone photos, keep their labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognizer import ModelError, Recognizer
from recognizer.preprocess import PREPROCESSING_VERSION
from tests.photo_factory import blank_page, digit_photo, noise_image

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


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def sample(mnist):
    """Four test digits of each class, chosen without looking at how the model does on them."""
    picks = np.concatenate([np.flatnonzero(mnist["y_test"] == d)[:4] for d in range(10)])
    return mnist["x_test"][picks], mnist["y_test"][picks]


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_digits_keep_their_labels(recognizer, sample, variant):
    images, labels = sample
    rng = np.random.default_rng(abs(hash(variant)) % 2**32)
    read = [recognizer.recognize(digit_photo([image], rng, **VARIANTS[variant])).number for image in images]
    accuracy = np.mean([r == str(label) for r, label in zip(read, labels)])
    assert accuracy >= 0.9, (variant, accuracy, list(zip(read, labels)))


def test_numbers_are_read_left_to_right(recognizer, mnist):
    rng = np.random.default_rng(11)
    x, y = mnist["x_test"], mnist["y_test"]
    correct = 0
    for trial in range(10):
        indices = rng.choice(len(x), size=int(rng.integers(2, 5)), replace=False)
        photo = digit_photo(list(x[indices]), rng, digit_height=0.22, size=800)
        correct += recognizer.recognize(photo).number == "".join(str(v) for v in y[indices])
    assert correct >= 8


def test_separators_are_not_digits(recognizer, mnist):
    x, y = mnist["x_test"], mnist["y_test"]
    first, second = np.flatnonzero(y == 3)[0], np.flatnonzero(y == 5)[0]
    # 640-px photo, digits 192 px tall and 146 px wide, 29 px apart: the gap is centred at x = 320.
    photo = cv2.imdecode(np.frombuffer(digit_photo([x[first], x[second]], np.random.default_rng(1),
                                                   digit_height=0.3, gap=0.15), np.uint8), cv2.IMREAD_COLOR)
    cv2.circle(photo, (320, 400), 7, (30, 30, 30), -1)  # a decimal point between the digits
    cv2.line(photo, (140, 460), (500, 460), (30, 30, 30), 4)  # an underline
    result = recognizer.recognize(cv2.imencode(".jpg", photo)[1].tobytes())
    assert result.number == "35"


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
    assert result.confidence == pytest.approx(digit.confidence)


def test_blank_page_has_no_digit(recognizer):
    for seed in range(3):
        assert recognizer.recognize(blank_page(np.random.default_rng(seed))).status == "no_digit"


def test_random_noise_is_not_a_confident_digit(recognizer):
    for seed in range(5):
        assert recognizer.recognize(noise_image(np.random.default_rng(seed))).status in ("no_digit", "unsure")


def test_model_for_another_preprocessing_is_refused(tmp_path):
    import json
    import shutil

    from recognizer.model_store import resolve_version_dir

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
