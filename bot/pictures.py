"""The admins' pictures (/stats, the end of /train) in the admin's language, drawn in a helper process.

Drawing a phone-sized figure takes matplotlib a second or two of CPU while holding the GIL; in the
bot's own process that stalled every user's reply meanwhile (photos answered during /train took 3 s
instead of well under 1.5 s). ``render`` draws in one spawned worker process instead.

``recognizer.charts`` draws; this module gives it the words. Chinese needs a CJK font on the machine
(the Docker image installs one; see README); where there is none the picture falls back to English
rather than drawing empty boxes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from bot import texts
from recognizer import charts

_WORD_KEYS = ("curves", "epoch", "accuracy", "loss", "train", "validation", "true", "predicted", "confusion",
              "no_data", "days", "digits", "user_says", "model_said")


def words_and_font(lang: str) -> tuple[str, dict[str, str], str | None]:
    """(the language the picture can be drawn in, its words, the font family for them)."""
    font = charts.cjk_font() if lang == "zh" else None
    if lang == "zh" and font is None:
        lang = "en"
    return lang, {key: texts.text(lang, f"chart_{key}") for key in _WORD_KEYS}, font


def day_label(lang: str, day: str) -> str:
    """A day on the /stats axis: "29 Nov"; "11月29日" (from ``YYYY-MM-DD``)."""
    parts = time.strptime(day, "%Y-%m-%d")
    return f"{parts.tm_mon}月{parts.tm_mday}日" if lang == "zh" else time.strftime("%-d %b", parts)


def stats_picture(lang: str, per_day: list[tuple[str, int]], digits_read: dict[int, int],
                  confusion: np.ndarray) -> bytes:
    """The /stats picture: photos per day (every day of the window), digits read, the feedback matrix."""
    lang, words, font = words_and_font(lang)
    words["feedback"] = texts.text(lang, "chart_feedback",
                                   digits=texts.counted(lang, "digits_count", int(confusion.sum())))
    return charts.usage_chart([day_label(lang, day) for day, _ in per_day], [count for _, count in per_day],
                              digits_read, confusion, words, font)


def training_picture(lang: str, manifest: dict) -> bytes:
    """The picture /train ends with: the new model's learning curves and MNIST test confusion matrix."""
    lang, words, font = words_and_font(lang)
    return charts.training_report(manifest["history"], np.array(manifest["confusion_matrix"]),
                                  float(manifest["test_accuracy"]), words, font)


_pool: ProcessPoolExecutor | None = None


async def render(draw: Callable[..., bytes], *args: Any) -> bytes:
    """Run ``draw(*args)`` (one of the functions above) in the picture process; start it on first use."""
    global _pool
    if _pool is None:  # spawn, not fork: the bot has threads, and a forked copy of them could deadlock
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return await asyncio.get_running_loop().run_in_executor(_pool, draw, *args)


def shutdown() -> None:
    """Stop the picture process (at the bot's shutdown)."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
