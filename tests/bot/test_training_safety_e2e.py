"""End to end, issue 9 cases 3, 4, 5 and 11: /train and /rollback can never break the model store.

The real bot, the real retraining process (TensorFlow, a slice of real MNIST), the stand-in API.
"""

from __future__ import annotations

import os
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

pytestmark = pytest.mark.slow


def _bot(fake, tmp_path, models, mnist_file, **env) -> BotProcess:
    process = BotProcess(fake, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models),
                         MNIST_PATH=str(mnist_file), **env)
    process.start()
    return process


def _training_pid(bot: BotProcess) -> int:
    match = re.search(r"training run \d+ started \(\d+ epochs, pid (\d+)\)", bot.logs())
    assert match, bot.logs()[-2000:]
    return int(match.group(1))


def _wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if open(f"/proc/{pid}/stat").read().split()[2] == "Z":  # a zombie has stopped
                return
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.2)
    raise AssertionError(f"training process {pid} still running")


def _runs(bot: BotProcess) -> list[tuple]:
    with sqlite3.connect(bot.env["DATA_DIR"] + "/digitbot.sqlite3") as db:
        return db.execute("SELECT id, status FROM training_runs ORDER BY id").fetchall()


def test_two_train_commands_at_once_start_one_run(fake_telegram, tmp_path, models_copy, small_mnist_file):
    """Case 3: both /train arrive in one poll and are handled concurrently; exactly one run starts."""
    bot = _bot(fake_telegram, tmp_path, models_copy, small_mnist_file)
    try:
        fake_telegram.push_many([fake_telegram.command(ADMIN_ID, "/train 2") for _ in range(2)])
        fake_telegram.calls_with_text("Training started", "sendMessage")
        fake_telegram.calls_with_text("already going", "sendMessage")
        time.sleep(1)
        assert len(fake_telegram.calls_with_text("Training started", "sendMessage")) == 1
        assert len(re.findall(r"training run \d+ started", bot.logs())) == 1
        assert len(_runs(bot)) == 1
        fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train cancel"))
        fake_telegram.calls_with_text("Training cancelled", "editMessageText", timeout=60)
        _wait_gone(_training_pid(bot))
        assert not [p for p in models_copy.iterdir() if p.name.startswith(".tmp-")]
    finally:
        assert bot.stop() == 0


def test_rollback_to_a_damaged_model_changes_nothing(fake_telegram, tmp_path, models_copy, mnist_path):
    """Case 4: the earlier model's weights are damaged: refused before CURRENT is touched; the bot
    keeps answering, and a restart still works."""
    current = resolve_version_dir(models_copy)
    older = models_copy / "20000101T000000Z"
    shutil.copytree(current, older)
    weights = (older / "weights.npz").read_bytes()
    (older / "weights.npz").write_bytes(weights[: len(weights) // 2])
    (models_copy / PREVIOUS_FILE).write_text(older.name + "\n")
    before = (models_copy / CURRENT_FILE).read_bytes()

    bot = _bot(fake_telegram, tmp_path, models_copy, mnist_path)
    try:
        fake_telegram.push(fake_telegram.command(ADMIN_ID, "/rollback"))
        text = fake_telegram.replies_to(ADMIN_ID, methods=("sendMessage",))[0].params["text"]
        assert "Not rolled back" in text and older.name in text and current.name in text
        assert (models_copy / CURRENT_FILE).read_bytes() == before
        digit = np.zeros((28, 28), np.uint8)
        digit[4:24, 12:16] = 255
        fake_telegram.push(fake_telegram.photo_message(901, digit_photo([digit], np.random.default_rng(0))))
        assert fake_telegram.replies_to(901)[0].params["text"].startswith("1")
    finally:
        assert bot.stop() == 0
    restarted = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models_copy))
    restarted.start()
    assert restarted.stop() == 0


def test_kill_9_after_the_last_epoch_installs_nothing(fake_telegram, tmp_path, trained_models_dir,
                                                      small_mnist_file):
    """Case 5: the bot dies after the last epoch; the orphaned run must not install its candidate, and
    after the restart the admin is told the truth about the model in use."""
    models = tmp_path / "models"
    shutil.copytree(trained_models_dir, models)  # a weak model: a candidate would be installed if asked
    before = (models / CURRENT_FILE).read_bytes()
    bot = _bot(fake_telegram, tmp_path, models, small_mnist_file)
    fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 1"))
    fake_telegram.calls_with_text("Training: epoch 1 of 1", "editMessageText", timeout=240)
    pid = _training_pid(bot)
    bot.stop(signal.SIGKILL)
    _wait_gone(pid)
    time.sleep(1)
    assert (models / CURRENT_FILE).read_bytes() == before
    restarted = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models),
                           MNIST_PATH=str(small_mnist_file))
    restarted.start()
    try:
        note = fake_telegram.calls_with_text("was interrupted", "sendMessage")[0].params["text"]
        assert "unchanged" in note
        assert (models / CURRENT_FILE).read_bytes() == before  # and it is true
    finally:
        assert restarted.stop() == 0


def test_sigterm_during_training_is_reported_after_the_restart(fake_telegram, tmp_path, models_copy,
                                                               small_mnist_file):
    """Case 11: SIGTERM during /train: the progress message says why it stopped (no 'HTTPXRequest is
    not initialized'), the bot exits 0, and after the restart the admin is told."""
    bot = _bot(fake_telegram, tmp_path, models_copy, small_mnist_file)
    fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 5"))
    fake_telegram.calls_with_text("Training started", "sendMessage")
    pid = _training_pid(bot)
    assert bot.stop(signal.SIGTERM, timeout=30) == 0
    assert fake_telegram.calls_with_text("bot is shutting down", "editMessageText", timeout=5)
    _wait_gone(pid, timeout=15)
    logs = bot.logs()
    assert "not initialized" not in logs and "Traceback" not in logs
    restarted = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models_copy),
                           MNIST_PATH=str(small_mnist_file))
    restarted.start()
    try:
        note = fake_telegram.calls_with_text("was interrupted", "sendMessage")
        assert note[0].params["chat_id"] == ADMIN_ID and "unchanged" in note[0].params["text"]
    finally:
        assert restarted.stop() == 0


def test_a_killed_training_process_is_reported_as_such(fake_telegram, tmp_path, models_copy, small_mnist_file):
    """Case 11: a run that dies without a word (here SIGKILL, as the OOM killer would) is reported by how it
    died, not by quoting TensorFlow's log noise (which TF_CPP_MIN_LOG_LEVEL=0 lets through)."""
    bot = _bot(fake_telegram, tmp_path, models_copy, small_mnist_file, TF_CPP_MIN_LOG_LEVEL="0")
    try:
        fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 20"))
        fake_telegram.calls_with_text("Training: epoch", "editMessageText", timeout=240)
        os.kill(_training_pid(bot), signal.SIGKILL)
        text = fake_telegram.calls_with_text("Training failed", "editMessageText", timeout=60)[0].params["text"]
        assert "SIGKILL" in text and "unchanged" in text
        assert not re.search(r"\b[IWEF]\d{4} |oneDNN|tensorflow", text), text
        assert _runs(bot)[-1][1] == "failed"
    finally:
        assert bot.stop() == 0
