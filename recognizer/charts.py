"""Pictures of the evaluation figures, for every package: confusion matrices, learning curves, /stats.

Training draws the MNIST confusion matrix and the learning curves into each model version; the
bot's /stats draws usage and the confusion matrix of users' feedback. Matplotlib's object API
(a ``Figure``, not pyplot) is safe in the bot's worker threads, and it is imported only when a
picture is drawn, so serving never loads it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib only when a picture is drawn

    return Figure(figsize=(width, height), dpi=100)


def draw_confusion(ax: Any, confusion: np.ndarray, title: str, true_label: str = "true digit",
                   predicted_label: str = "predicted digit") -> None:
    """Counts per (true, predicted) digit on a matplotlib axis, as a labelled heat map (log scale)."""
    shown = np.log1p(confusion)
    ax.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7,
                    color="white" if shown[row, col] > shown.max() * 0.6 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel(predicted_label)
    ax.set_ylabel(true_label)
    ax.set_title(title)


def plot_confusion(confusion: np.ndarray, path: Path, title: str) -> None:
    """A confusion matrix (the MNIST test set's, in a model version) as a PNG."""
    figure = _figure(6, 5.4)
    draw_confusion(figure.subplots(), confusion, title)
    figure.tight_layout()
    figure.savefig(path)


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, training (augmented) against validation, as a PNG."""
    figure = _figure(9, 3.6)
    loss_ax, acc_ax = figure.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, key, label in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
        ax.plot(epochs, history[key], label="train (augmented)")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    figure.tight_layout()
    figure.savefig(path)


def usage_chart(per_day: list[tuple[str, int]], digits_read: dict[int, int], feedback_confusion: np.ndarray) -> bytes:
    """The /stats picture as PNG bytes: photos per day (``YYYY-MM-DD``), digits read, and the confusion
    matrix of users' feedback (rows: what the user says, columns: what the model said)."""
    figure = _figure(13, 3.8)
    days_ax, digits_ax, confusion_ax = figure.subplots(1, 3)
    days_ax.bar([day[5:] for day, _ in per_day] or ["—"], [count for _, count in per_day] or [0], color="#3b7dd8")
    days_ax.set_title("Photos per day (last 30 days)")
    days_ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    digits_ax.bar([str(d) for d in digits_read], list(digits_read.values()), color="#40a070")
    digits_ax.set_title("Digits read")
    draw_confusion(confusion_ax, feedback_confusion, f"Feedback: {int(feedback_confusion.sum())} digits",
                   true_label="user says", predicted_label="model said")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
