"""End to end, what an operator relies on: an empty MODEL_DIR (a new volume) is seeded from the shipped
model, the heartbeat behind Docker's HEALTHCHECK, and Telegram's flood control (429) retried, not lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from digitbot.testkit import REPO
from digitbot.testkit.bot_process import BotProcess
from recognizer.model_store import CURRENT_FILE, SHIPPED_MODELS_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def volume_bot(module_fake, tmp_path_factory):
    """The bot as the Docker image runs it: DATA_DIR and MODEL_DIR on a volume that starts empty."""
    volume = tmp_path_factory.mktemp("volume")
    process = BotProcess(module_fake, volume / "data", volume / "bot.log", MODEL_DIR=str(volume / "models"))
    process.start()
    yield process
    if process.process.poll() is None:
        process.stop()


def test_an_empty_model_dir_is_seeded_with_the_shipped_model(volume_bot):
    models = volume_bot.env["MODEL_DIR"]
    shipped = (SHIPPED_MODELS_DIR / CURRENT_FILE).read_text().strip()
    assert open(os.path.join(models, CURRENT_FILE)).read().strip() == shipped
    assert os.path.isfile(os.path.join(models, shipped, "weights.npz"))
    assert not [name for name in os.listdir(models) if name.startswith(".")]  # no half-seeded leftovers
    assert "seeded it with the shipped model" in volume_bot.logs()


def test_the_heartbeat_makes_the_health_check_pass(volume_bot, tmp_path):
    env = {**os.environ, "DATA_DIR": volume_bot.env["DATA_DIR"]}
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(env["DATA_DIR"], "heartbeat")) and time.monotonic() < deadline:
        time.sleep(0.2)
    healthy = subprocess.run([sys.executable, "-m", "bot.health"], cwd=REPO, env=env, capture_output=True, text=True)
    assert healthy.returncode == 0, healthy.stdout
    missing = subprocess.run([sys.executable, "-m", "bot.health"], cwd=REPO, capture_output=True, text=True,
                             env={**env, "DATA_DIR": str(tmp_path)})
    assert missing.returncode == 1 and "no heartbeat" in missing.stdout


def test_flood_control_is_waited_out_and_the_reply_still_sent(volume_bot):
    fake = volume_bot.fake
    fake.flood("sendMessage", 2)  # Telegram refuses the reply twice: "retry after 1 s"
    fake.push(fake.command(901, "/start"))
    reply = fake.replies_to(901, timeout=30)[0]
    refused = [c for c in fake.calls if c.method == "sendMessage#429" and c.params.get("chat_id") == 901]
    assert len(refused) == 2 and reply.at - refused[0].at >= 1.5  # it waited as asked, twice
    assert "photo" in reply.params["text"]
