"""How good answers are: exactness, calibration, what "ok" is worth, and confusion matrices.

One home for these figures, so that training, the benches and the bot compute them the same way;
``recognizer.charts`` draws them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from recognizer.recognizer import Status

NUM_CLASSES = 10


@dataclass(frozen=True)
class Answer:
    """One photo's answer next to the truth."""

    group: str  # a writer, a source, a kind of synthetic photo
    truth: str
    number: str
    confidence: float
    status: str  # a recognizer.Status value: ok, unsure or no_digit

    @property
    def right(self) -> bool:
        return self.number == self.truth


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Mean gap between stated confidence and accuracy over equal-width bins, weighted by their counts."""
    confidence, right = np.asarray(confidence, np.float64), np.asarray(right, np.float64)
    if len(confidence) == 0:
        return 0.0
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(confidence[members].mean() - right[members].mean())
    return float(error)


def summarise(answers: Iterable[Answer]) -> dict:
    """Exact share overall and averaged per group, calibration error, share answered ok and how many are right."""
    answers = list(answers)
    if not answers:
        return {"count": 0}
    right = np.array([a.right for a in answers])
    confidence = np.array([a.confidence for a in answers])
    ok = np.array([a.status == Status.OK for a in answers])
    groups: dict[str, list[bool]] = {}
    for a in answers:
        groups.setdefault(a.group, []).append(a.right)
    return {
        "count": len(answers),
        "exact": round(float(right.mean()), 4),
        "exact_averaged_per_group": round(float(np.mean([np.mean(v) for v in groups.values()])), 4),
        "calibration_error": round(expected_calibration_error(confidence, right), 4),
        "mean_confidence": round(float(confidence.mean()), 4),
        "answered_ok": round(float(ok.mean()), 4),
        "ok_right": round(float(right[ok].mean()), 4) if ok.any() else None,
        "per_group": {g: f"{sum(v)}/{len(v)}" for g, v in groups.items()},
    }


def confusion_matrix(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts per (true digit, predicted digit): rows the true digit, columns what the model said."""
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(confusion, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return confusion


def per_digit_accuracy(confusion: np.ndarray) -> dict[int, float]:
    """Share read right of each true digit, for the digits that occur (a confusion matrix's rows)."""
    totals = confusion.sum(axis=1)
    return {d: float(confusion[d, d] / totals[d]) for d in range(len(confusion)) if totals[d]}


def accuracy(confusion: np.ndarray) -> float | None:
    """Share read right overall; None when the matrix counts nothing."""
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else None
