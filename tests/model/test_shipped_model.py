"""The model shipped in models/ is the one the README promises."""

from __future__ import annotations

from recognizer import Recognizer


def test_shipped_model_scores_at_least_99_percent_on_mnist_test(mnist):
    recognizer = Recognizer.load()
    probabilities = recognizer.classify(mnist["x_test"])
    accuracy = float((probabilities.argmax(axis=1) == mnist["y_test"]).mean())
    assert accuracy >= 0.99, accuracy
    assert abs(accuracy - recognizer.manifest["test_accuracy"]) < 1e-4
