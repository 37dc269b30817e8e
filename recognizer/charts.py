"""Pictures of the evaluation figures, for every package: confusion matrices, learning curves, /stats.

Training draws the MNIST confusion matrix and the learning curves into each model version; the
bot's /stats draws usage and the confusion matrix of users' feedback, and /train's final message a
report of the new model. Matplotlib's object API (a ``Figure``, not pyplot) is safe in the bot's
worker threads, and it is imported only when a picture is drawn, so serving never loads it.

The bot's pictures are read on phones, where Telegram shows them about 400 px wide: they are one
column of panels, 4.5 inches wide, so 10-point text stays about 12 px high on the screen. Their words
come from the caller (this package knows no languages); Chinese words need a CJK font, found among
the system's fonts (``CJK_FONTS``); without one the caller is told and uses English.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

PHONE_WIDTH_IN = 4.5  # shown ~400 px wide on a phone: 10-pt text is then ~12 px
PHONE_DPI = 200  # sharp when zoomed; Telegram scales it down
# Families that hold Chinese glyphs, by preference; the file name fragments find them when matplotlib's
# font cache predates their install.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "AR PL UMing CN")
_CJK_FILE_HINTS = ("notosanscjk", "notosanssc", "sourcehansans", "wqy", "droidsansfallback", "uming")
DEFAULT_WORDS = {"curves": "Learning curves", "epoch": "epoch", "accuracy": "accuracy", "loss": "loss",
                 "train": "training (augmented)", "validation": "validation", "true": "true digit",
                 "predicted": "predicted digit", "confusion": "MNIST test, accuracy {accuracy}",
                 "no_data": "No data yet", "days": "Photos per day (last {days} days)", "digits": "Digits read",
                 "feedback": "Users' feedback ({digits})", "user_says": "user says", "model_said": "model said"}


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager  # noqa: PLC0415 - matplotlib only when a picture is drawn

    def installed() -> str | None:
        names = {font.name for font in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    found = installed()
    if found is None:  # installed after matplotlib built its cache: register the files
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower().replace("-", "").replace("_", "") for hint in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = installed()
    return found


def _figure(width: float, height: float, dpi: int = 100) -> Any:
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib only when a picture is drawn

    return Figure(figsize=(width, height), dpi=dpi)


_FONT_LOCK = threading.Lock()  # rcParams are global: one picture with its own font at a time


@contextlib.contextmanager
def _font(font: str | None) -> Iterator[None]:
    """Every text drawn inside is set in ``font`` (e.g. a CJK family), DejaVu Sans for what it lacks."""
    if not font:
        yield
        return
    import matplotlib  # noqa: PLC0415

    with _FONT_LOCK, matplotlib.rc_context({"font.family": [font, "DejaVu Sans"]}):
        yield


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_confusion(ax: Any, confusion: np.ndarray, title: str, true_label: str = "true digit",
                   predicted_label: str = "predicted digit") -> None:
    """Counts per (true, predicted) digit on a matplotlib axis, as a labelled heat map (log scale)."""
    shown = np.log1p(confusion)
    ax.imshow(shown, cmap="Blues")
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
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
        # Markers, so a run of one epoch (a single point per curve) still shows its points.
        ax.plot(epochs, history[key], marker="o", label="train (augmented)")
        ax.plot(epochs, history[f"val_{key}"], marker="o", label="validation")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    figure.tight_layout()
    figure.savefig(path)


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    return MaxNLocator(integer=True, min_n_ticks=1)


def _no_data(ax: Any, words: dict[str, str]) -> None:
    ax.text(0.5, 0.5, words["no_data"], ha="center", va="center", fontsize=12, color="#777777",
            transform=ax.transAxes)


def usage_chart(day_labels: list[str], per_day: list[int], digits_read: dict[int, int],
                feedback_confusion: np.ndarray, words: dict[str, str] | None = None,
                font: str | None = None) -> bytes:
    """The /stats picture as PNG bytes, for a phone: three stacked panels.

    Photos per day (one bar per day, empty days included, ``day_labels`` as given), digits read, and
    the confusion matrix of users' feedback (rows: what the user says, columns: what the model said).
    Counts get whole-number ticks; a panel with nothing to show says so instead of drawing empty axes.
    ``words`` are the titles (``DEFAULT_WORDS`` keys), ``font`` a family for them (see ``cjk_font``).
    """
    with _font(font):
        return _png(usage_figure(day_labels, per_day, digits_read, feedback_confusion, words))


def usage_figure(day_labels: list[str], per_day: list[int], digits_read: dict[int, int],
                 feedback_confusion: np.ndarray, words: dict[str, str] | None = None) -> Any:
    """The /stats picture as a matplotlib Figure (``usage_chart`` renders it), for tests to read its axes."""
    words = {**DEFAULT_WORDS, **(words or {})}
    figure = _figure(PHONE_WIDTH_IN, 11.5, PHONE_DPI)
    days_ax, digits_ax, confusion_ax = figure.subplots(3, 1, height_ratios=[3, 2.6, 5])

    positions = np.arange(len(per_day))
    days_ax.bar(positions, per_day, color="#3b7dd8")
    days_ax.set_title(words["days"].format(days=len(per_day)), fontsize=11)
    step = max(1, len(per_day) // 5)
    ticks = list(positions[::-1][::step][::-1])  # the last day always labelled
    days_ax.set_xticks(ticks, [day_labels[i] for i in ticks], fontsize=9)
    days_ax.set_xlim(-0.6, len(per_day) - 0.4)
    days_ax.yaxis.set_major_locator(_integer_ticks())
    if not sum(per_day):
        days_ax.set_ylim(0, 1)
        _no_data(days_ax, words)

    digits_ax.bar([str(d) for d in range(10)], [digits_read.get(d, 0) for d in range(10)], color="#40a070")
    digits_ax.set_title(words["digits"], fontsize=11)
    digits_ax.yaxis.set_major_locator(_integer_ticks())
    if not sum(digits_read.values()):
        digits_ax.set_ylim(0, 1)
        _no_data(digits_ax, words)

    total = int(feedback_confusion.sum())
    title = words["feedback"].format(digits=total)
    if total:
        draw_confusion(confusion_ax, feedback_confusion, title, true_label=words["user_says"],
                       predicted_label=words["model_said"])
        confusion_ax.title.set_fontsize(11)
    else:
        confusion_ax.set_title(title, fontsize=11)
        confusion_ax.set_axis_off()
        _no_data(confusion_ax, words)
    figure.tight_layout()
    return figure


def training_report(history: dict[str, list[float]], confusion: np.ndarray, test_accuracy: float,
                    words: dict[str, str] | None = None, font: str | None = None) -> bytes:
    """The picture /train ends with, for a phone: accuracy and loss per epoch (training against
    validation, with markers so one epoch shows), and the new model's MNIST test confusion matrix."""
    with _font(font):
        return _png(training_figure(history, confusion, test_accuracy, words))


def training_figure(history: dict[str, list[float]], confusion: np.ndarray, test_accuracy: float,
                    words: dict[str, str] | None = None) -> Any:
    """The /train report as a matplotlib Figure (``training_report`` renders it)."""
    words = {**DEFAULT_WORDS, **(words or {})}
    figure = _figure(PHONE_WIDTH_IN, 11.5, PHONE_DPI)
    acc_ax, loss_ax, confusion_ax = figure.subplots(3, 1, height_ratios=[2.6, 2.6, 5])
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, key in ((acc_ax, "accuracy"), (loss_ax, "loss")):
        if len(epochs):
            ax.plot(epochs, history[key], marker="o", label=words["train"])
            ax.plot(epochs, history[f"val_{key}"], marker="s", label=words["validation"])
            ax.legend(fontsize=8)
            ax.set_xlim(0.5, len(epochs) + 0.5)
        else:
            _no_data(ax, words)
        ax.set_ylabel(words[key])
        ax.set_xlabel(words["epoch"])
        ax.xaxis.set_major_locator(_integer_ticks())
    acc_ax.set_title(words["curves"], fontsize=11)
    draw_confusion(confusion_ax, confusion, words["confusion"].format(accuracy=f"{test_accuracy:.2%}"),
                   true_label=words["true"], predicted_label=words["predicted"])
    confusion_ax.title.set_fontsize(11)
    figure.tight_layout()
    return figure
