"""Pictures of a training run: the confusion matrix and the learning curves.

Matplotlib is used rather than hand-drawn OpenCV charts: it is well kept, and these plots are only
made in the training process, which already pays for TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def draw_confusion(ax, confusion: np.ndarray, title: str, true_label: str = "true digit",
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
    """The MNIST test confusion matrix as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=100)
    draw_confusion(ax, confusion, title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, training (augmented) against validation."""
    plt = _pyplot()
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=100)
    loss_ax.plot(epochs, history["loss"], label="train (augmented)")
    loss_ax.plot(epochs, history["val_loss"], label="validation")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    loss_ax.legend()
    acc_ax.plot(epochs, history["accuracy"], label="train (augmented)")
    acc_ax.plot(epochs, history["val_accuracy"], label="validation")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    acc_ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
