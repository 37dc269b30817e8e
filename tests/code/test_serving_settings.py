"""The serving settings in a model's manifest are what serving does: temperature, calibration, the
unsure threshold, the preprocessing version. Each test changes one setting in a copy of the shipped
model and checks that the answer follows it exactly (NumPy only: no TensorFlow here).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from recognizer import ModelError, Recognizer, Status
from recognizer.confidence import Calibration
from recognizer.model_store import resolve_version_dir
from recognizer.recognizer import UNSURE_BELOW
from tests.photo_factory import digit_photo


def shipped_with(tmp_path: Path, **changes: object) -> Recognizer:
    """The shipped model, copied to ``tmp_path`` with ``changes`` made to its manifest, loaded."""
    version_dir = tmp_path / "changed"
    shutil.copytree(resolve_version_dir(), version_dir)
    manifest = json.loads((version_dir / "manifest.json").read_text())
    manifest.update(changes)
    (version_dir / "manifest.json").write_text(json.dumps(manifest))
    return Recognizer.load(version_dir)


@pytest.fixture(scope="module")
def seven(mnist) -> bytes:
    """A clear 7 (MNIST test digit 0) as a phone photo, seed 2."""
    return digit_photo([mnist["x_test"][0]], np.random.default_rng(2))


def test_the_manifests_temperature_softens_the_digit_network(tmp_path, seven):
    hot = shipped_with(tmp_path, temperature=25.0)
    result = hot.recognize(seven)
    digit = result.digits[0]
    expected = hot.classifier.classify(digit.mnist[None], temperature=25.0)[0]
    assert digit.digit == 7
    assert digit.confidence == pytest.approx(float(expected[7]), rel=1e-5)
    assert [p for _, p in digit.top3] == pytest.approx(sorted(expected, reverse=True)[:3], rel=1e-5)
    # At temperature 1 the same input is a near-certain 7; at 25 the network is visibly less sure.
    assert hot.classifier.classify(digit.mnist[None])[0, 7] > 0.999
    assert digit.confidence < 0.9


def test_the_confidence_is_the_manifests_calibration_of_the_signals(tmp_path, seven):
    shipped = Recognizer.load()
    result = shipped.recognize(seven)
    assert result.confidence == pytest.approx(Calibration.from_manifest(shipped.manifest).probability(result.signals))
    # A calibration that trusts nothing: the same signals now say "almost surely wrong".
    doubting = shipped_with(tmp_path, calibration={**shipped.manifest["calibration"], "bias": -40.0})
    doubted = doubting.recognize(seven)
    np.testing.assert_allclose(doubted.signals, result.signals)
    assert doubted.confidence < 1e-6 and doubted.status == Status.UNSURE and doubted.number == "7"


@pytest.mark.parametrize("confidence, status", [(UNSURE_BELOW - 0.01, Status.UNSURE), (UNSURE_BELOW + 0.01, Status.OK)])
def test_below_the_threshold_an_answer_is_a_guess(tmp_path, seven, confidence, status):
    """The calibration's bias moved so that this photo's confidence lands just under or just over 0.8."""
    shipped = Recognizer.load()
    calibration = shipped.manifest["calibration"]
    signals = shipped.recognize(seven).signals
    z = float(np.dot(calibration["weights"], signals))
    bias = math.log(confidence / (1 - confidence)) - z
    result = shipped_with(tmp_path, calibration={**calibration, "bias": bias}).recognize(seven)
    assert UNSURE_BELOW == 0.8
    assert result.confidence == pytest.approx(confidence, abs=1e-6)
    assert result.status == status and result.number == "7"


def test_a_model_for_another_preprocessing_is_refused(tmp_path):
    with pytest.raises(ModelError, match="preprocessing version"):
        shipped_with(tmp_path, preprocessing_version="0")
