"""End to end, what a user notices in a conversation: the keypad (⌫, Cancel), a typed correction that
closes the keypad under its answer, /help as complete as /start, unknown commands, Chinese punctuation."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pytest

from bot.answers import writing_of
from bot.database import connect
from digitbot.testkit.bot_process import ADMIN_ID

pytestmark = pytest.mark.slow


def _buttons(markup: dict) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}


def _answer(fake, user: int, photo: bytes, language: str = "en") -> tuple[dict, dict]:
    """Send a photo; return the answer's buttons and the answer as the user's client holds it."""
    fake.push(fake.photo_message(user, photo, language=language))
    reply = fake.replies_to(user)[0]
    message = {"message_id": 5000 + user, "date": 0, "chat": {"id": user, "type": "private"},
               "text": reply.params["text"], "reply_markup": reply.params["reply_markup"]}
    return _buttons(reply.params["reply_markup"]), message


def _edits(fake, user: int, count: int) -> list:
    return fake.wait_for(lambda calls: (lambda e: e if len(e) >= count else None)(
        [c for c in calls if c.method == "editMessageText" and c.params.get("chat_id") == user]))


def _press(fake, user: int, data: str, message: dict, edit: dict | None = None, language: str = "en") -> None:
    """Press a button on ``message`` as the client shows it after ``edit`` (the bot's last edit of it)."""
    shown = dict(message)
    if edit is not None:
        shown.update(text=edit.params["text"], reply_markup=edit.params.get("reply_markup"))
    fake.push(fake.callback(user, data, shown, language=language))


@pytest.fixture
def two_digit_photo(test_digits):
    from digitbot.testkit.photos import digit_photo

    digits, labels = test_digits
    seven, two = digits[np.flatnonzero(labels == 7)[0]], digits[np.flatnonzero(labels == 2)[0]]
    return digit_photo([seven, two], np.random.default_rng(2), digit_height=0.3)


def test_a_typed_correction_closes_the_keypad_under_its_answer(bot, two_digit_photo):
    fake, user = bot.fake, 701
    buttons, message = _answer(fake, user, two_digit_photo)
    assert message["text"].startswith("72")
    _press(fake, user, buttons["✏️ Wrong"], message)
    keypad = _edits(fake, user, 1)[0]
    assert "typing also fixes a wrong count of digits" in keypad.params["text"]
    fake.push(fake.message(user, text="140"))  # another count of digits: only typing can say so
    assert "saved the right answer: 140" in fake.replies_to(user, count=2)[-1].params["text"]
    closed = _edits(fake, user, 2)[1]
    assert closed.params["message_id"] == message["message_id"]
    assert closed.params["text"].startswith("72") and "saved the right answer: 140" in closed.params["text"]
    assert list(_buttons(closed.params["reply_markup"])) == ["🔍 What I saw"]  # the keypad is gone
    db = connect(bot.env.get("DATABASE_URL") or Path(bot.env["DATA_DIR"]) / "digitbot.sqlite3")
    try:  # kept whole, for the cutting (on whichever engine the bot uses)
        kept = db.execute("SELECT answer_number, label, length(inputs), writing FROM miscounts WHERE label = '140'"
                          ).fetchall()
    finally:
        db.close()
    assert [tuple(row[:3]) for row in kept] == [("72", "140", 2 * 28 * 28)]
    writing = writing_of(bytes(kept[0][3]))
    assert writing.shape[0] < 60 and writing.shape[1] > writing.shape[0] and writing.max() == 255  # "72", small
    fake.push(fake.command(ADMIN_ID, "/stats"))
    stats = fake.calls_with_text("with a digit too many or too few", "sendMessage", timeout=30)[-1]
    assert re.search(r"corrected: \d+ \(\d+ with a digit too many or too few", stats.params["text"])


def test_backspace_and_cancel_on_the_keypad(bot, two_digit_photo):
    fake, user = bot.fake, 702
    buttons, message = _answer(fake, user, two_digit_photo)
    _press(fake, user, buttons["✏️ Wrong"], message)
    keypad = _edits(fake, user, 1)[0]
    keys = _buttons(keypad.params["reply_markup"])
    assert set(keys) == {*map(str, range(10)), "⌫", "Cancel"}
    _press(fake, user, keys["3"], message, keypad)
    after_three = _edits(fake, user, 2)[1]
    assert "So far: 3. Which is digit 2 of 2?" in after_three.params["text"]
    _press(fake, user, keys["⌫"], message, after_three)
    erased = _edits(fake, user, 3)[2]
    assert "So far" not in erased.params["text"] and "Which is digit 1 of 2?" in erased.params["text"]
    _press(fake, user, keys["⌫"], message, erased)
    fake.wait_for(lambda calls: [c for c in calls if c.method == "answerCallbackQuery"
                                 and c.params.get("text") == "Nothing to take back."])
    _press(fake, user, keys["Cancel"], message, erased)
    cancelled = _edits(fake, user, 4)[3]
    assert cancelled.params["text"] == message["text"]  # the answer as it was, with its buttons back
    assert set(_buttons(cancelled.params["reply_markup"])) == {"✅ Right", "✏️ Wrong", "🔍 What I saw"}
    with contextlib.closing(bot.database()) as db:  # the bot's own database, SQLite or PostgreSQL
        assert db.execute("SELECT COUNT(*) FROM corrections WHERE chat_id = ?", (user,)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM feedback f JOIN answers a ON a.id = f.answer_id"
                          " WHERE a.chat_id = ?", (user,)).fetchone()[0] == 0
    fake.push(fake.message(user, text="73"))  # no correction is open any more: a number is just text
    assert "Please send a photo" in fake.replies_to(user, count=2)[-1].params["text"]


def test_help_says_everything_start_says_and_more(bot):
    fake = bot.fake
    fake.push(fake.command(710, "/start"))
    fake.push(fake.command(711, "/help"))
    start = fake.replies_to(710)[0].params["text"]
    help_text = fake.replies_to(711)[0].params["text"]
    for words in ("photo", "dark pen", "plain white paper", "shadows", "✅", "✏️", "⌫", "Cancel",
                  "type the right number", "wrong count of digits", "What I saw"):
        assert words in help_text, words
    assert len(help_text) > 2 * len(start)


@pytest.mark.parametrize(("language", "expected"), [("en", "I don't know that command. /help"),
                                                    ("zh-hans", "我不认识这个命令。发送 /help")])
def test_an_unknown_command_points_to_help(bot, language, expected):
    fake = bot.fake
    user = 712 if language == "en" else 713
    fake.push(fake.command(user, "/foo", language=language))
    assert fake.replies_to(user)[0].params["text"].startswith(expected)


def test_chinese_conversation_reads_naturally(bot, two_digit_photo, test_digits):
    from digitbot.testkit.photos import blank_page

    fake, user = bot.fake, 714
    buttons, message = _answer(fake, user, two_digit_photo, language="zh-hans")
    assert "✏️ 不对，改正" in buttons
    assert "（" in message["text"] and " (" not in message["text"]  # full-width brackets around each share
    _press(fake, user, buttons["✏️ 不对，改正"], message, language="zh-hans")
    keypad = _edits(fake, user, 1)[0]
    keys = _buttons(keypad.params["reply_markup"])
    assert {"⌫", "取消"} <= set(keys) and "位数不对" in keypad.params["text"]
    _press(fake, user, keys["7"], message, keypad, language="zh-hans")
    so_far = _edits(fake, user, 2)[1].params["text"]
    assert "已输入：7。第 2 位" in so_far
    fake.push(fake.photo_message(user, b"\xff\xd8\xff\xe0 not a jpeg", language="zh-hans"))
    fake.push(fake.photo_message(user, blank_page(np.random.default_rng(4)), language="zh-hans"))
    replies = fake.replies_to(user, count=3)
    said = [r.params.get("text", "") for r in replies] + [so_far]
    for text in said:
        assert not re.search(r"[。，：；！？] ", text), text  # no space after Chinese punctuation
