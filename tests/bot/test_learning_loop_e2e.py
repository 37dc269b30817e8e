"""End to end for the learning loop: feedback buttons, samples in SQLite, /train, /rollback."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import time

import numpy as np
import pytest

from digitbot.testkit.bot_process import ADMIN_ID, BotProcess
from digitbot.testkit.photos import digit_photo
from recognizer.model_store import CURRENT_FILE, PREVIOUS_FILE, resolve_version_dir
from tests.bot.conftest import send_photo

pytestmark = pytest.mark.slow


def _db(bot: BotProcess) -> sqlite3.Connection:
    return sqlite3.connect(bot.env["DATA_DIR"] + "/digitbot.sqlite3")


def _press(fake, user, data, message):
    fake.push(fake.callback(user, data, message))


def _callback_answers(fake, count):
    return fake.wait_for(lambda calls: (lambda a: a if len(a) >= count else None)(
        [c for c in calls if c.method == "answerCallbackQuery"]))


def test_confirm_stores_a_labelled_sample_once(training_bot, mnist):
    fake = training_bot.fake
    seven = mnist["x_test"][0]
    reply, buttons, message = send_photo(fake, 301, digit_photo([seven], np.random.default_rng(0)))
    _press(fake, 301, buttons["✅ Right"], message)
    edit = fake.calls_with_text("", "editMessageText")[0]
    assert edit.params["text"].startswith("7 — ") and "noted as right" in edit.params["text"]
    with _db(training_bot) as db:
        rows = db.execute("SELECT label, predicted, length(image) FROM samples").fetchall()
    assert rows == [(7, 7, 784)]
    _press(fake, 301, buttons["✅ Right"], message)  # a double press
    assert "Already noted" in _callback_answers(fake, 2)[-1].params.get("text", "")
    with _db(training_bot) as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1


def test_correct_with_the_keypad(training_bot, mnist):
    fake = training_bot.fake
    seven = mnist["x_test"][0]
    reply, buttons, message = send_photo(fake, 302, digit_photo([seven], np.random.default_rng(1)))
    _press(fake, 302, buttons["✏️ Wrong"], message)
    keypad = fake.calls_with_text("", "editMessageText")[0]
    keys = [b["callback_data"] for row in keypad.params["reply_markup"]["inline_keyboard"] for b in row]
    assert len(keys) == 12 and "Tap it below" in keypad.params["text"]  # 0-9, ⌫ and Cancel
    _press(fake, 302, keys[1], message)  # the user says it is a 1
    assert fake.calls_with_text("saved the right answer: 1", "editMessageText")
    with _db(training_bot) as db:
        assert db.execute("SELECT label, predicted FROM samples").fetchall() == [(1, 7)]
        assert db.execute("SELECT verdict, label FROM feedback").fetchall() == [("wrong", "1")]


def test_correct_a_number_by_typing_it(training_bot, mnist):
    fake = training_bot.fake
    x = mnist["x_test"]
    reply, buttons, message = send_photo(fake, 303, digit_photo([x[0], x[1]], np.random.default_rng(2),
                                                             digit_height=0.3))
    assert reply.params["text"].startswith("72")
    _press(fake, 303, buttons["✏️ Wrong"], message)
    fake.calls_with_text("", "editMessageText")
    fake.push(fake.message(303, text="73"))
    assert "saved the right answer: 73" in fake.replies_to(303, count=2)[-1].params["text"]
    with _db(training_bot) as db:
        assert sorted(db.execute("SELECT label, predicted FROM samples").fetchall()) == [(3, 2), (7, 7)]


def test_presses_on_unknown_or_foreign_answers(training_bot):
    fake = training_bot.fake
    message = {"message_id": 5, "date": 0, "chat": {"id": 304, "type": "private"}, "text": "old"}
    _press(fake, 304, "ok:999999", message)
    answer = _callback_answers(fake, 1)[-1]
    assert answer.params.get("show_alert") is True and "no longer available" in answer.params["text"]


def test_a_press_from_another_chat_gives_no_feedback(training_bot, mnist):
    """Button data copied into another chat (a forwarded message, a forged press) names someone else's answer."""
    fake = training_bot.fake
    reply, buttons, message = send_photo(fake, 306, digit_photo([mnist["x_test"][0]], np.random.default_rng(4)))
    elsewhere = {**message, "chat": {"id": 307, "type": "private"}}
    _press(fake, 307, buttons["✅ Right"], elsewhere)
    answer = _callback_answers(fake, 1)[-1]
    assert answer.params.get("show_alert") is True and "no longer available" in answer.params["text"]
    _press(fake, 306, buttons["✅ Right"], message)  # the owner's own press still counts
    assert fake.calls_with_text("noted as right", "editMessageText")
    with _db(training_bot) as db:
        assert db.execute("SELECT label, predicted FROM samples").fetchall() == [(7, 7)]


def test_stats_show_feedback(training_bot, mnist):
    fake = training_bot.fake
    reply, buttons, message = send_photo(fake, 305, digit_photo([mnist["x_test"][0]], np.random.default_rng(3)))
    _press(fake, 305, buttons["✅ Right"], message)
    fake.calls_with_text("noted as right", "editMessageText")
    fake.push(fake.command(ADMIN_ID, "/stats"))
    text = fake.replies_to(ADMIN_ID, methods=("sendMessage",))[0].params["text"]
    assert "Confirmed: 1, corrected: 0" in text and "Accuracy from feedback: 100.0% of 1 digit" in text


def test_train_runs_while_photos_are_answered(training_bot, mnist, models_copy):
    fake = training_bot.fake
    before = (models_copy / CURRENT_FILE).read_text()
    fake.push(fake.command(ADMIN_ID + 600, "/train 1"))
    assert "for the bot's admins" in fake.replies_to(ADMIN_ID + 600)[0].params["text"]

    fake.push(fake.command(ADMIN_ID, "/train 1"))
    started = fake.calls_with_text("Training started", "sendMessage")[0].params["text"]
    assert "1 epoch on MNIST" in started and "epoch(s)" not in started and "held out" in started
    fake.push(fake.command(ADMIN_ID, "/train 1"))
    busy = fake.calls_with_text("already going")[0].params["text"]
    assert re.match(r"A training run is already going \((just starting|epoch 1 of 1, .*)\)\.", busy), busy

    # While it trains, photos are still answered promptly.
    progress = fake.calls_with_text("Training: epoch", "editMessageText", timeout=240)[0].params["text"]
    assert re.search(r"epoch 1 of 1, validation accuracy \d+\.\d\d%, (less than a minute|about [1-9]\d* min) left",
                     progress) and "0.0 min" not in progress, progress
    delays = []
    for i in range(3):
        sent = time.monotonic()
        fake.push(fake.photo_message(310 + i, digit_photo([mnist["x_test"][i]], np.random.default_rng(i))))
        reply = fake.replies_to(310 + i)[0]
        delays.append(reply.at - sent)
        assert reply.params["text"][0].isdigit()
    assert max(delays) < 1.5, delays

    final = fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"
                                         and ("installed" in c.params["text"] or "Kept the model" in c.params["text"])],
                          timeout=300)[0].params["text"]
    assert "MNIST test accuracy" in final or "on the MNIST test set" in final
    assert "%" in final and "Decided by:\n• MNIST test set: new " in final
    # Measured: one epoch of fine-tuning the shipped model (seed 1, no feedback yet) gives 99.19% on the MNIST
    # test set against 99.28% in use, within the 0.2-point tolerance, so it is installed.
    assert "installed" in final and "Kept the model" not in final, final
    in_use = json.loads((models_copy / before.strip() / "manifest.json").read_text())["test_accuracy"]
    assert f"{in_use:.2%}" in final, final
    report = fake.wait_for(lambda calls: [c for c in calls if c.method == "sendPhoto"
                                          and "Learning curves" in str(c.params.get("caption"))], timeout=60)[0]
    assert report.files["photo"].startswith(b"\x89PNG") and report.params["chat_id"] == ADMIN_ID
    now = (models_copy / CURRENT_FILE).read_text()
    assert now != before and (models_copy / PREVIOUS_FILE).read_text().strip() == before.strip()
    with _db(training_bot) as db:
        assert db.execute("SELECT status FROM training_runs").fetchall()[-1][0] == "installed"


def test_failing_training_keeps_the_model(fake_telegram, tmp_path, models_copy):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an archive")
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models_copy),
                         MNIST_PATH=str(broken))
    process.start()
    try:
        before = (models_copy / CURRENT_FILE).read_text()
        fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 1"))
        failed = fake_telegram.calls_with_text("Training failed", "editMessageText", timeout=120)
        assert "could not be read" in failed[0].params["text"] and "unchanged" in failed[0].params["text"]
        assert (models_copy / CURRENT_FILE).read_text() == before
        fake_telegram.push(fake_telegram.photo_message(320, digit_photo([np.zeros((28, 28), np.uint8)],
                                                                        np.random.default_rng(0))))
        assert fake_telegram.replies_to(320)  # the bot is unaffected
    finally:
        assert process.stop() == 0


def test_rollback_switches_models_without_restart(training_bot, models_copy):
    fake = training_bot.fake
    current = resolve_version_dir(models_copy)
    older = models_copy / "20000101T000000Z"
    shutil.copytree(current, older)
    manifest = json.loads((older / "manifest.json").read_text())
    manifest["version"] = older.name
    (older / "manifest.json").write_text(json.dumps(manifest))
    (models_copy / PREVIOUS_FILE).write_text(older.name + "\n")

    fake.push(fake.command(ADMIN_ID, "/rollback"))
    text = fake.replies_to(ADMIN_ID, methods=("sendMessage",))[0].params["text"]
    assert f"Rolled back to model {older.name}" in text
    assert (models_copy / CURRENT_FILE).read_text().strip() == older.name
    fake.push(fake.command(ADMIN_ID, "/stats"))
    stats = fake.replies_to(ADMIN_ID, count=2, methods=("sendMessage",))[-1].params["text"]
    assert f"Version: {older.name}" in stats  # the running bot now uses it


def test_interrupted_training_is_reported_after_restart(fake_telegram, tmp_path, models_copy, mnist_path):
    env = {"MODEL_DIR": str(models_copy), "MNIST_PATH": str(mnist_path)}
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", **env)
    process.start()
    fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 3"))
    fake_telegram.calls_with_text("Training started")
    process.stop(signal.SIGKILL)
    restarted = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", **env)
    restarted.start()
    try:
        note = fake_telegram.calls_with_text("was interrupted")
        assert note[0].params["chat_id"] == ADMIN_ID
    finally:
        assert restarted.stop() == 0


def test_train_cancel_stops_the_run(training_bot, models_copy):
    fake = training_bot.fake
    before = (models_copy / CURRENT_FILE).read_text()
    fake.push(fake.command(ADMIN_ID, "/train 20"))
    fake.calls_with_text("Training started")
    fake.push(fake.command(ADMIN_ID, "/train cancel"))
    fake.calls_with_text("Training cancelled", "editMessageText", timeout=60)
    assert (models_copy / CURRENT_FILE).read_text() == before
    assert not [p for p in models_copy.iterdir() if p.name.startswith(".tmp-")]
    fake.push(fake.command(ADMIN_ID, "/train cancel"))
    assert fake.calls_with_text("No training is running")
