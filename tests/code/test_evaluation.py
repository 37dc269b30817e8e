"""Confusion matrices and what they say, and the pictures drawn of them (one home for training and the bot)."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.charts import plot_confusion, plot_history, usage_chart
from recognizer.evaluation import accuracy, confusion_matrix, per_digit_accuracy

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_counts_true_rows_and_predicted_columns():
    confusion = confusion_matrix([7, 7, 7, 1, 1, 3], [7, 7, 1, 1, 7, 3])
    assert confusion.shape == (10, 10) and confusion.sum() == 6
    assert confusion[7, 7] == 2 and confusion[7, 1] == 1 and confusion[1, 7] == 1 and confusion[3, 3] == 1
    assert per_digit_accuracy(confusion) == {1: 0.5, 3: 1.0, 7: pytest.approx(2 / 3)}  # digits never seen: absent
    assert accuracy(confusion) == pytest.approx(4 / 6)


def test_nothing_counted():
    confusion = confusion_matrix([], [])
    assert confusion.sum() == 0 and per_digit_accuracy(confusion) == {} and accuracy(confusion) is None


def test_pictures_are_png(tmp_path):
    confusion = confusion_matrix(np.arange(10).repeat(3), np.arange(10).repeat(3))
    plot_confusion(confusion, tmp_path / "confusion.png", "MNIST test")
    plot_history({"loss": [1.0, 0.5], "val_loss": [0.9, 0.6], "accuracy": [0.8, 0.9], "val_accuracy": [0.85, 0.9]},
                 tmp_path / "curves.png")
    chart = usage_chart(["28 Nov", "29 Nov"], [3, 5], {d: d for d in range(10)}, confusion)
    for picture in ((tmp_path / "confusion.png").read_bytes(), (tmp_path / "curves.png").read_bytes(), chart):
        assert picture.startswith(PNG) and len(picture) > 5_000
    assert usage_chart([], [], {d: 0 for d in range(10)}, confusion_matrix([], [])).startswith(PNG)  # a new bot
