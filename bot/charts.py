"""The /stats picture: photos per day and how often each digit was read."""

from __future__ import annotations

import io

from bot.storage import FeedbackStats, Stats
from training.report import draw_confusion


def usage_chart(stats: Stats, feedback: FeedbackStats) -> bytes:
    """A PNG: photos per day, digits read, and the confusion matrix from users' feedback.

    Runs in a worker thread (matplotlib is not async).
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415 - Figure, not pyplot: safe outside the main thread

    figure = Figure(figsize=(13, 3.8), dpi=100)
    per_day, digits, confusion = figure.subplots(1, 3)
    days = [day[5:] for day, _ in stats.per_day] or ["—"]
    counts = [count for _, count in stats.per_day] or [0]
    per_day.bar(days, counts, color="#3b7dd8")
    per_day.set_title("Photos per day (last 30 days)")
    per_day.tick_params(axis="x", labelrotation=60, labelsize=7)
    digits.bar([str(d) for d in stats.digits_read], list(stats.digits_read.values()), color="#40a070")
    digits.set_title("Digits read")
    draw_confusion(confusion, feedback.confusion, f"Feedback: {feedback.samples} digits", true_label="user says",
                   predicted_label="model said")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
