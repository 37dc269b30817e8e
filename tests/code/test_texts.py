"""Every sentence exists in both languages, and the Chinese ones read as Chinese is written."""

from __future__ import annotations

import re

from bot import texts
from bot.connectivity import Outage


def test_every_sentence_is_in_both_languages():
    assert set(texts.TEXTS["en"]) == set(texts.TEXTS["zh"])
    for key, english in texts.TEXTS["en"].items():
        assert set(re.findall(r"{(\w+)", english)) == set(re.findall(r"{(\w+)", texts.TEXTS["zh"][key])), key


def test_chinese_punctuation():
    for key, chinese in texts.TEXTS["zh"].items():
        assert not re.search(r"[。，：；！？）] ", chinese), key  # no space after full-width punctuation
        assert not re.search(r"[\u4e00-\u9fff] ?\(|\) ?[\u4e00-\u9fff]", chinese), key  # full-width brackets
    assert texts.share("zh", 7, 0.28) == "7（28%）" and texts.share("en", 7, 0.28) == "7 (28%)"
    assert texts.listing("zh", ["7（28%）", "3（10%）"]) == "7（28%）、3（10%）"
    assert texts.sentences("zh", "已输入：1。", "第 2 位") == "已输入：1。第 2 位"


def test_counts_and_dates_read_naturally():
    assert texts.counted("en", "epochs", 1) == "1 epoch" and texts.counted("en", "epochs", 5) == "5 epochs"
    assert texts.counted("zh", "epochs", 5) == "5 轮"
    assert texts.date("en", "2026-11-29T21:43:08+00:00") == "29 Nov 2026"
    assert texts.date("zh", "2026-11-29T21:43:08+00:00") == "2026年11月29日"
    assert texts.date("en", None) == "—"


def test_the_outage_note_is_in_the_admins_language():
    outage = Outage(started=0.0, seconds=61.0, failed_attempts=4, last_error="ConnectError")
    assert outage.describe().startswith("⚠️ I could not reach Telegram from 00:00:00 UTC for 61 s")
    assert outage.describe("zh").startswith("⚠️ 从 00:00:00 UTC 起我有 61 秒连不上 Telegram")


def test_stats_count_corrections_of_the_count_of_digits_in_both_languages():
    import numpy as np

    from bot.admin import stats_text
    from bot.storage import FeedbackStats, Stats

    figures = Stats(3, 2, {"ok": 3}, 40.0, 90.0, [], {d: 0 for d in range(10)})
    confusion = np.zeros((10, 10), np.int64)
    confusion[1, 1] = 1
    feedback = FeedbackStats(1, 2, 1, 1, 1.0, {1: 1.0}, confusion)
    english = stats_text("en", figures, feedback, {"version": "v"})
    assert "Confirmed: 1, corrected: 2 (1 with a digit too many or too few: kept, not yet learnt from)\n" in english
    chinese = stats_text("zh", figures, feedback, {"version": "v"})
    assert "改正：2（其中 1 次多读或少读了数字：已保存，暂不用于训练）\n" in chinese
    none = FeedbackStats(1, 2, 1, 0, 1.0, {1: 1.0}, confusion)
    assert "Confirmed: 1, corrected: 2\n" in stats_text("en", figures, none, {"version": "v"})


def test_a_chance_told_to_a_user_is_never_certain():
    """"100% sure" on a wrong answer costs the most trust; a count's share (admin statistics) may be 100%."""
    shown = [texts.chance(p) for p in (0.9996, 0.995, 0.994, 0.5, 0.004, 0.0)]
    assert shown == ["99%", "99%", "99%", "50%", "1%", "1%"]
    assert texts.share("en", 7, 0.999, is_chance=True) == "7 (99%)" and texts.share("en", "1/1", 1.0) == "1/1 (100%)"
