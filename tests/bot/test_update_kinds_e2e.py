"""End to end: updates that are not a new request from a person, and presses that arrive twice or together.

Found by a break-test (2026-12-01): each of these once gave an error reply and a ⚠️ to the admins, a second
answer to one photo, or a lost keypad digit. The real bot process, model and SQLite; the Bot API stand-in,
which refuses an edit that changes nothing as Telegram does.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import numpy as np
import pytest

from digitbot.testkit.bot_process import ADMIN_ID
from digitbot.testkit.photos import digit_photo
from tests.bot.conftest import one_stroke, send_photo

pytestmark = pytest.mark.slow


def _answer(fake, user: int, digits: int = 1):
    """Send a photo of ``digits`` strokes; return the answer's buttons and the message as the client holds it."""
    _, buttons, message = send_photo(fake, user, digit_photo([one_stroke()] * digits, np.random.default_rng(user),
                                                             size=600))
    return buttons, message


def _trouble(fake, log_path) -> list[str]:
    warnings = [str(c.params.get("text")) for c in fake.sent("sendMessage", chat_id=ADMIN_ID)
                if "⚠️" in str(c.params.get("text"))]
    errors = [line for line in log_path.read_text().splitlines()
              if " ERROR " in line and "AIORateLimiter: Rate limit hit after" not in line]  # PTB's own line
    apologies = fake.sent_texts("something went wrong")
    return warnings + errors + [str(c.params) for c in apologies]


def test_a_second_tap_on_the_same_button_is_answered_quietly(lenient_bot, tmp_path):
    fake = lenient_bot.fake
    buttons, message = _answer(fake, 901)
    fake.push_many([fake.callback(901, buttons["✏️ Wrong"], message)] * 2)  # a double tap
    fake.wait_for(lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) >= 2)
    answer_id = buttons["✏️ Wrong"].split(":")[1]
    keypad = dict(message, text=fake.calls_with_text("Tap it below", "editMessageText")[-1].params["text"])
    fake.push_many([fake.callback(901, f"fix:{answer_id}:x", keypad)] * 2)  # Cancel, twice
    fake.wait_for(lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) >= 4)
    time.sleep(1.0)
    assert not _trouble(fake, tmp_path / "bot.log")


def test_two_quick_keypad_taps_both_count(lenient_bot, tmp_path):
    fake = lenient_bot.fake
    buttons, message = _answer(fake, 902, digits=2)
    answer_id = buttons["✏️ Wrong"].split(":")[1]
    fake.push(fake.callback(902, buttons["✏️ Wrong"], message))
    fake.calls_with_text("Tap it below", "editMessageText")
    count = len(fake.sent("sendMessage", chat_id=902)[0].params["text"].split()[0].rstrip("?"))
    assert count >= 2  # two strokes side by side are read as two digits
    keys = ["8", "1", "4", "7", "2", "5", "0", "3", "6", "9"][:count]
    fake.push_many([fake.callback(902, f"fix:{answer_id}:{key}", message) for key in keys])  # one getUpdates
    fake.calls_with_text(f"Saved as {''.join(keys)}.", "answerCallbackQuery")
    lenient_bot.stop(signal.SIGKILL)
    with sqlite3.connect(tmp_path / "data" / "digitbot.sqlite3") as db:
        assert db.execute("SELECT verdict, label FROM feedback").fetchall() == [("wrong", "".join(keys))]


def test_edits_channel_posts_and_group_noise_get_no_answer(lenient_bot, tmp_path):
    fake = lenient_bot.fake
    photo = fake.photo_message(903, digit_photo([one_stroke()], np.random.default_rng(3), size=400))["message"]
    group = {"id": -903, "type": "group", "title": "maths"}
    user = photo["from"]
    fake.push_many([
        {"edited_message": dict(photo, caption="edited", edit_date=int(time.time()))},  # answered when sent
        {"channel_post": {"message_id": 77, "date": int(time.time()), "photo": photo["photo"],
                          "chat": {"id": -100903, "type": "channel", "title": "news"}}},
        {"channel_post": {"message_id": 78, "date": int(time.time()), "text": "hello",
                          "chat": {"id": -100903, "type": "channel", "title": "news"}}},
        {"message": {"message_id": 79, "date": int(time.time()), "chat": group, "from": user,
                     "new_chat_members": [{"id": 4242, "is_bot": True, "first_name": "digitbot"}]}},
        {"message": {"message_id": 80, "date": int(time.time()), "chat": group, "from": user,
                     "text": "/start@other_bot", "entities": [{"type": "bot_command", "offset": 0, "length": 16}]}},
    ])
    fake.push(fake.command(904, "/start"))  # a request after them: when it is answered, they have been handled
    fake.replies_to(904)
    time.sleep(1.0)
    answered = {c.params.get("chat_id") for c in fake.sent() if c.method in ("sendMessage", "sendPhoto")}
    assert answered == {904}, answered
    assert not _trouble(fake, tmp_path / "bot.log")
    lenient_bot.stop(signal.SIGKILL)
    with sqlite3.connect(tmp_path / "data" / "digitbot.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0


def test_admin_commands_in_a_group_point_to_a_private_chat(lenient_bot, tmp_path):
    fake = lenient_bot.fake
    admin = fake.command(ADMIN_ID, "/stats")["message"]
    group = {"id": -905, "type": "supergroup", "title": "team"}
    fake.push({"message": dict(admin, chat=group)})
    reply = fake.replies_to(-905)[0]
    assert "private chat" in reply.params["text"]
    assert not fake.sent("sendPhoto")  # no chart of the usage in the group
    fake.push(fake.command(ADMIN_ID, "/stats"))  # in private it works
    assert fake.replies_to(ADMIN_ID, methods=("sendPhoto", "sendMessage"))


def test_flood_control_after_the_retries_pages_no_admin(lenient_bot, tmp_path):
    fake = lenient_bot.fake
    fake.flood("sendMessage", times=4)  # the first try and the limiter's three retries of one reply
    fake.push(fake.message(906, text="hi"))
    fake.wait_for(lambda calls: len([c for c in calls if c.method == "sendMessage#429"]) >= 4, timeout=60)
    fake.push(fake.message(907, text="hello"))  # the flood is over: others are answered
    fake.replies_to(907, timeout=60)
    assert "flood control" in (tmp_path / "bot.log").read_text()
    assert not _trouble(fake, tmp_path / "bot.log")


def test_a_download_that_times_out_is_answered(lenient_bot, tmp_path):
    """Telegram's file server slower than the bot waits (30 s) while the API answers: ask to send it again."""
    fake = lenient_bot.fake
    fake.file_delay_s = 32.0
    fake.push(fake.photo_message(908, digit_photo([one_stroke()], np.random.default_rng(8), size=400)))
    reply = fake.replies_to(908, timeout=60)[0]
    assert "send it again" in reply.params["text"]
    fake.file_delay_s = 0.0
    assert not _trouble(fake, tmp_path / "bot.log")
