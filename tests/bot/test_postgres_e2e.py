"""The essential end-to-end tests again, with the bot on PostgreSQL (DATABASE_URL) instead of SQLite.

The tests are the same functions as in the SQLite modules, imported here: pytest runs them again with
this module's fixtures, so ``bot`` is a bot whose database is a PostgreSQL database of its own, and
every ``BotProcess`` a test starts itself gets DATABASE_URL too. Without a PostgreSQL server
(DIGITBOT_TEST_POSTGRES) they skip with the reason.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import numpy as np
import pytest

from digitbot.testkit.bot_process import BotProcess
from digitbot.testkit.photos import digit_photo
from tests.bot.test_bot_e2e import (  # noqa: F401 - collected again here, on PostgreSQL
    test_fifty_photos_from_ten_users_at_once,
    test_kill_9_then_restart_keeps_the_counts,
    test_photo_gets_the_digit_and_confidence,
    test_rate_limit_answers_politely,
    test_stats_for_admin_only,
    test_token_never_logged,
    test_what_i_saw_button_sends_the_inputs,
)
from tests.bot.test_conversation_e2e import (  # noqa: F401
    test_a_typed_correction_closes_the_keypad_under_its_answer,
    test_backspace_and_cancel_on_the_keypad,
    two_digit_photo,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bot(module_fake, module_database, tmp_path_factory):
    """One bot on PostgreSQL shared by the tests of this module."""
    directory = tmp_path_factory.mktemp("bot")
    process = BotProcess(module_fake, directory / "data", directory / "bot.log", PHOTOS_PER_MINUTE="100",
                         MAX_FILE_MB="2", DATABASE_URL=module_database.url)
    process.start()
    yield process
    if process.process and process.process.poll() is None:
        process.stop()


@pytest.fixture(autouse=True)
def _bots_started_by_a_test_use_postgres(request, monkeypatch):
    """A test that starts its own bot (kill -9, rate limit) gets an empty PostgreSQL database."""
    if "bot" not in request.fixturenames:
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))


def test_answers_feedback_and_users_are_in_postgres(bot, test_digits):
    """What the bot says it stored is in PostgreSQL: the answer, the feedback, the hashed user."""
    digits, labels = test_digits
    fake = bot.fake
    fake.push(fake.photo_message(601, digit_photo([digits[np.flatnonzero(labels == 5)[0]]], np.random.default_rng(5))))
    reply = fake.replies_to(601)[0]
    right = next(b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row
                 if b["callback_data"].startswith("ok:"))
    message = {"message_id": 91, "date": 0, "chat": {"id": 601, "type": "private"}, "text": reply.params["text"],
               "reply_markup": reply.params["reply_markup"]}
    fake.push(fake.callback(601, right, message))
    fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText" and c.params.get("chat_id") == 601])
    assert bot.database_location.startswith("postgresql://")
    with contextlib.closing(bot.database()) as db:
        answer_id = int(right.split(":")[1])
        row = db.execute("SELECT chat_id, number, user_hash FROM answers WHERE id = ?", (answer_id,)).fetchone()
        assert row[0] == 601 and row[1] == "5" and "601" not in row[2]
        assert db.execute("SELECT verdict, label FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone() == (
            "right", "5")
        assert db.execute("SELECT COUNT(*) FROM samples s JOIN feedback f ON f.id = s.feedback_id"
                          " WHERE f.answer_id = ?", (answer_id,)).fetchone()[0] == 1
    password = urlsplit(bot.database_location).password
    logs = bot.logs()
    assert "database PostgreSQL postgresql://" in logs and ":***@" in logs  # the password is not logged
    assert not password or f":{password}@" not in logs
