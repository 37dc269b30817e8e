"""End to end, issue 9 cases 1, 2, 7 and 8: what an attacker or an unlucky user sends loses nothing.

The real bot process, the real model and SQLite, the Bot API stand-in.
"""

from __future__ import annotations

import signal
import sqlite3
import struct
import threading

import numpy as np
import pytest

from digitbot.testkit import crafted_files
from digitbot.testkit.bot_process import ADMIN_ID, BotProcess
from digitbot.testkit.photos import digit_photo
from tests.bot.conftest import one_stroke, send_photo

pytestmark = pytest.mark.slow


def _answer(fake, user: int, seed: int):
    """Send a photo of a 1; return the reply, its buttons and the message as a client would hold it."""
    return send_photo(fake, user, digit_photo([one_stroke()], np.random.default_rng(seed), size=400))


def _admin_warnings(fake) -> list:
    return [c for c in fake.sent("sendMessage", chat_id=ADMIN_ID) if "⚠️" in str(c.params.get("text"))]


def test_odd_digits_and_huge_numbers_leave_every_write_whole(lenient_bot, tmp_path):
    """Case 1: a typed '²' or '①', a forged fix:<id>:², a 5,000-digit "correction": each answered kindly,
    and the database stays usable: later answers are committed and survive kill -9."""
    fake = lenient_bot.fake
    reply, buttons, message = _answer(fake, 801, 1)
    fake.push(fake.callback(801, buttons["✏️ Wrong"], message))
    fake.calls_with_text("Tap it below", "editMessageText")
    for typed in ("²", "①", "٣", "7" * 5000):
        before = len(fake.sent("sendMessage", chat_id=801))
        fake.push(fake.message(801, text=typed))
        text = fake.replies_to(801, count=before + 1)[-1].params["text"]
        assert "digits 0-9" in text and len(text) < 4096, text[:200]
    answer_id = buttons["✏️ Wrong"].split(":")[1]
    fake.push(fake.callback(801, f"fix:{answer_id}:²", message))  # forged: no keypad has such a key
    fake.wait_for(lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) >= 2)

    # Other users are still answered, and their writes are committed.
    reply2, buttons2, message2 = _answer(fake, 802, 2)
    fake.push(fake.callback(802, buttons2["✅ Right"], message2))
    assert fake.calls_with_text("noted as right", "editMessageText")
    fake.push(fake.message(801, text="4"))  # a real correction of the first answer still works
    assert fake.calls_with_text("saved the right answer: 4", "sendMessage")
    assert not _admin_warnings(fake), _admin_warnings(fake)

    lenient_bot.stop(signal.SIGKILL)
    with sqlite3.connect(tmp_path / "data" / "digitbot.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
        assert sorted(db.execute("SELECT verdict, label FROM feedback").fetchall()) == [("right", "1"), ("wrong", "4")]
        assert sorted(db.execute("SELECT label, predicted FROM samples").fetchall()) == [(1, 1), (4, 1)]
    restarted = BotProcess(fake, tmp_path / "data", tmp_path / "bot.log")
    restarted.start()
    try:
        presses = len(fake.sent("answerCallbackQuery"))
        fake.push(fake.callback(802, buttons2["🔍 What I saw"], message2))
        assert fake.replies_to(802, methods=("sendPhoto",))  # the answer was kept: its picture comes back
        fake.wait_for(lambda calls: len([c for c in calls if c.method == "answerCallbackQuery"]) > presses)
    finally:
        assert restarted.stop() == 0


@pytest.mark.parametrize("data", ["ok:99999999999999999999", "ok:9223372036854775808", "fix:1:²", "saw:-1",
                                  "no:١٢", "fix:9223372036854775808:1", "whatever", "ok:", ""])
def test_forged_button_presses_are_answered_quietly(lenient_bot, data):
    """Case 8: every press gets an answer (no spinning client); forged data is refused without a ⚠️."""
    fake = lenient_bot.fake
    message = {"message_id": 1, "date": 0, "chat": {"id": 803, "type": "private"}, "text": "1 — 99% sure"}
    update = fake.callback(803, data, message)
    query_id = update["callback_query"]["id"]
    fake.push(update)
    answer = fake.wait_for(lambda calls: [c for c in calls if c.method == "answerCallbackQuery"
                                          and str(c.params.get("callback_query_id")) == query_id])[0]
    assert not answer.params.get("show_alert")
    assert not _admin_warnings(fake)
    assert "error while handling" not in lenient_bot.logs()


@pytest.mark.parametrize(("name", "content"), [
    ("floats.tiff", crafted_files.grey_tiff(strip_offsets=(crafted_files.FLOAT, 1, struct.pack("<f", 200.0)))),
    ("rational.tiff", crafted_files.grey_tiff(width_field=(crafted_files.RATIONAL, 1, struct.pack("<II", 9, 2)))),
    ("trns.png", crafted_files.grey_png(trns=b"\x01")),
])
def test_malformed_files_get_the_kind_decode_reply(lenient_bot, name, content):
    """Case 7: Pillow's ValueError/TypeError on these once meant "something went wrong" and a ⚠️ per file."""
    fake = lenient_bot.fake
    user = 810 + len(name)
    fake.push(fake.document_message(user, content, "image/tiff" if name.endswith("tiff") else "image/png", name))
    text = fake.replies_to(user)[0].params["text"]
    assert "try another photo" in text and "something went wrong" not in text
    assert not _admin_warnings(fake)


def test_three_users_send_the_worst_accepted_file_at_once(fake_telegram, tmp_path, bomb_files):
    """Case 2: three of the costliest files the decoder accepts, at once: all answered, the bot stays
    under 400 MB (it once reached 2.8-4.6 GB)."""
    name, content = bomb_files
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", PHOTOS_PER_MINUTE="1000")
    process.start()
    try:
        updates = [fake_telegram.document_message(820 + i, content, "image/png", name) for i in range(3)]
        threads = [threading.Thread(target=fake_telegram.push, args=(u,)) for u in updates]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for user in range(820, 823):
            assert fake_telegram.replies_to(user, timeout=120)[0].params["text"][0].isdigit()
        with open(f"/proc/{process.process.pid}/status", encoding="utf-8") as status:
            peak_mb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
        assert peak_mb <= 400, peak_mb
    finally:
        assert process.stop() == 0
