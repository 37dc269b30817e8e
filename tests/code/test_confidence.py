"""The confidence map, its fitting, and the calibration error that checks it."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.confidence import FITTED_SIGNALS, SIGNALS, Calibration, signals
from recognizer.evaluation import Answer, expected_calibration_error, summarise
from training.calibrate import fit_calibration, fit_logistic


def test_logistic_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (20_000, 3))
    true_w, true_b = np.array([1.5, -0.7, 0.3]), -0.4
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-(x @ true_w + true_b)))).astype(float)
    w, b = fit_logistic(x, y)
    assert w == pytest.approx(true_w, abs=0.08)
    assert b == pytest.approx(true_b, abs=0.06)


def test_default_calibration_trusts_the_share():
    assert Calibration().probability(signals(0.83, 0.5, 0.5, 3, 40.0, 0.6)) == pytest.approx(0.83, abs=1e-6)


def test_calibration_round_trips_through_the_manifest():
    fitted = Calibration((0.9, 0.2, 0.1, -0.5, 0.4, 1.2, -2.0), 0.3)
    again = Calibration.from_manifest({"calibration": fitted.to_manifest()})
    assert again == fitted
    assert Calibration.from_manifest({}) == Calibration()
    with pytest.raises(ValueError, match="do not match"):
        Calibration.from_manifest({"calibration": {"signals": ["share", "digits"], "weights": [1.0], "bias": 0.0}})
    with pytest.raises(ValueError, match="do not match"):
        Calibration.from_manifest({"calibration": {"signals": ["share", "moon phase"], "weights": [1.0, 2.0],
                                                   "bias": 0.0}})


def test_a_map_fitted_before_a_signal_existed_gives_it_no_weight():
    older = {"signals": list(SIGNALS[:6]), "weights": [0.9, 0.2, 0.1, 0.0, -0.5, 0.4], "bias": 0.3}
    calibration = Calibration.from_manifest({"calibration": older})
    assert calibration.weights == (0.9, 0.2, 0.1, 0.0, -0.5, 0.4, 0.0)
    evidence = signals(0.8, 0.9, 0.9, 2, 40.0, 0.6, unread_ink=0.7)
    assert calibration.probability(evidence) == pytest.approx(calibration.probability(
        signals(0.8, 0.9, 0.9, 2, 40.0, 0.6, unread_ink=0.0)))


def test_signals_are_finite_at_the_extremes():
    assert np.isfinite(signals(1.0, 0.0, 1.0, 12, 0.0, 0.0)).all()


def test_calibration_error_of_honest_and_of_overconfident_answers():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0, 1, 50_000)
    honest = rng.random(len(confidence)) < confidence
    assert expected_calibration_error(confidence, honest) < 0.01
    always_sure = np.ones(1000)
    half_right = np.arange(1000) % 2 == 0
    assert expected_calibration_error(always_sure, half_right) == pytest.approx(0.5)


def test_summary_counts_ok_answers_and_averages_per_group():
    answers = [Answer("a", "7", "7", 0.99, "ok"), Answer("a", "1", "7", 0.9, "ok"),
               Answer("b", "42", "42", 0.4, "unsure"), Answer("b", "5", "", 0.0, "no_digit")]
    figures = summarise(answers)
    assert figures["exact"] == 0.5
    assert figures["exact_averaged_per_group"] == 0.5
    assert figures["answered_ok"] == 0.5
    assert figures["ok_right"] == 0.5
    assert figures["per_group"] == {"a": "1/2", "b": "1/2"}


def test_the_fit_leaves_the_digit_count_out_even_where_it_predicts():
    """Answers with more digits are right more often here; the map still gives the count no weight."""
    rng = np.random.default_rng(2)
    rows = np.array([signals(rng.uniform(0.05, 0.95), rng.uniform(0.5, 1), rng.uniform(0.5, 1),
                             int(rng.integers(1, 9)), rng.uniform(20, 200), rng.uniform(0.2, 1), rng.uniform(0, 0.5))
                     for _ in range(4000)])
    digits = SIGNALS.index("digits")
    right = (rng.random(len(rows)) < 1 / (1 + np.exp(-(rows[:, 0] + 6 * rows[:, digits] - 3)))).astype(float)
    assert fit_logistic(rows, right)[0][digits] > 3  # a free fit would lean on the count
    calibration = fit_calibration(rows, right)
    assert calibration.weights[digits] == 0.0
    assert set(FITTED_SIGNALS) < set(SIGNALS) and "digits" not in FITTED_SIGNALS
    assert all(calibration.weights[SIGNALS.index(name)] != 0.0 for name in FITTED_SIGNALS)
