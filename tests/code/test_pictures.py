"""The admins' pictures: stacked for a phone, every day of the window, whole-number counts, a word for
"no data", and the admin's language where a CJK font is installed."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from bot import pictures
from bot.storage import Storage
from recognizer import charts


def _texts(figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize"))]


def test_every_day_of_the_window_is_a_bar_even_without_photos(tmp_path):
    storage = Storage(tmp_path / "db.sqlite3", salt="test")
    try:
        per_day = storage.stats(days=30).per_day
    finally:
        storage.close()
    assert len(per_day) == 30 and all(count == 0 for _, count in per_day)
    assert per_day[-1][0] == time.strftime("%Y-%m-%d", time.gmtime())
    days = [time.mktime(time.strptime(day, "%Y-%m-%d")) for day, _ in per_day]
    assert all(round((b - a) / 86400) == 1 for a, b in zip(days, days[1:]))  # consecutive, none skipped


def test_counts_get_whole_number_ticks_and_empty_panels_say_so():
    labels = [f"{d} Nov" for d in range(1, 31)]
    counts = [0] * 30
    counts[3], counts[20] = 17, 3
    figure = charts.usage_figure(labels, counts, {7: 5, 1: 2}, np.zeros((10, 10), int))
    days_ax, digits_ax = figure.axes[:2]
    for ax in (days_ax, digits_ax):
        ticks = ax.get_yticks()
        assert np.allclose(ticks, np.round(ticks)), ticks
    assert len(days_ax.patches) == 30
    assert _texts(figure).count("No data yet") == 1  # the feedback panel only

    empty = charts.usage_figure(labels, [0] * 30, {d: 0 for d in range(10)}, np.zeros((10, 10), int))
    assert _texts(empty).count("No data yet") == 3
    assert empty.axes[0].get_ylim() == (0, 1)  # not -0.04 to 0.04


def test_the_stats_picture_is_made_for_a_phone():
    per_day = [(time.strftime("%Y-%m-%d", time.gmtime(time.time() - back * 86400)), back % 3) for back in range(30)]
    png = pictures.stats_picture("en", per_day[::-1], {d: d for d in range(10)}, np.eye(10, dtype=int))
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    assert height > 2 * width  # one column of panels
    # Text is 10-11 pt on a 4.5-inch-wide figure: at 400 px wide it is still ~12 px high.
    assert width / charts.PHONE_DPI == pytest.approx(charts.PHONE_WIDTH_IN, rel=0.01)


def test_chinese_words_where_a_cjk_font_is_installed():
    lang, words, font = pictures.words_and_font("zh")
    if charts.cjk_font() is None:
        assert (lang, font) == ("en", None) and words["digits"] == "Digits read"  # no boxes for missing glyphs
    else:
        assert lang == "zh" and font == charts.cjk_font() and words["digits"] == "识别出的数字"
    assert pictures.day_label("zh", "2026-11-05") == "11月5日" and pictures.day_label("en", "2026-11-05") == "5 Nov"


def test_one_epoch_curves_show_their_points():
    history = {"loss": [0.3], "val_loss": [0.2], "accuracy": [0.9], "val_accuracy": [0.95]}
    figure = charts.training_figure(history, np.eye(10, dtype=int) * 100, 0.97)
    curves = [line for ax in figure.axes[:2] for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(curves) == 4 and all(line.get_marker() not in (None, "None", "", " ") for line in curves)
    png = charts.training_report(history, np.eye(10, dtype=int) * 100, 0.97)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] > 2 * image.shape[1]
