"""Run the real bot (``python -m bot`` as a subprocess) against the local Bot API stand-in."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from digitbot.testkit.bot_process import TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from recognizer.model_store import SHIPPED_MODELS_DIR
from tests.conftest import own_database


def one_stroke() -> np.ndarray:
    """A 1 in MNIST form: one upright stroke, which every model reads (two side by side read as 11)."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    return digit


def send_photo(fake: FakeTelegram, user: int, photo: bytes):
    """Send a photo; return the reply, its buttons and the answer as the user's client holds it."""
    fake.push(fake.photo_message(user, photo))
    reply = fake.replies_to(user)[0]
    buttons = {b["text"]: b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row}
    message = {"message_id": 5000 + user, "date": 0, "chat": {"id": user, "type": "private"},
               "text": reply.params["text"], "reply_markup": reply.params["reply_markup"]}
    return reply, buttons, message


@pytest.fixture
def lenient_bot(fake_telegram, tmp_path):
    """A bot of its own that lets a user send 1,000 photos a minute (the rate limit is tested elsewhere)."""
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", PHOTOS_PER_MINUTE="1000")
    process.start()
    yield process
    if process.process.poll() is None:
        process.stop()


@pytest.fixture
def fake_telegram():
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def module_fake():
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(module_fake, tmp_path_factory):
    """One bot process shared by the tests of a module."""
    directory = tmp_path_factory.mktemp("bot")
    process = BotProcess(module_fake, directory / "data", directory / "bot.log", PHOTOS_PER_MINUTE="100",
                         MAX_FILE_MB="2")
    process.start()
    yield process
    if process.process and process.process.poll() is None:
        process.stop()


@pytest.fixture(scope="module")
def module_database():
    """A PostgreSQL database of the module's own, so its bots' counts start at zero."""
    yield from own_database()


@pytest.fixture
def models_copy(tmp_path):
    """A private copy of the shipped models directory: /train and /rollback must not touch the real one."""
    target = tmp_path / "models"
    shutil.copytree(SHIPPED_MODELS_DIR, target)
    return target


@pytest.fixture
def training_bot(fake_telegram, tmp_path, models_copy, mnist_path):
    """A bot of its own, on a private copy of the models and the full MNIST: for /train and /rollback."""
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", MODEL_DIR=str(models_copy),
                         MNIST_PATH=str(mnist_path))
    process.start()
    yield process
    if process.process.poll() is None:
        process.stop()


@pytest.fixture(scope="module")
def test_digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    return mnist["x_test"], mnist["y_test"]


@pytest.fixture(scope="session")
def bomb_files() -> tuple[str, bytes]:
    """The accepted file that costs the decoder most (an RGBA PNG as large as it accepts), and its name."""
    from digitbot.testkit.image_bombs import render, worst_size

    return "worst-rgba.png", render("RGBA", "PNG", worst_size("RGBA", "PNG"), {})
