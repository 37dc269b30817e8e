"""End to end, what an operator sees: the real bot in polling mode serves /metrics and /healthz on METRICS_PORT."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import cv2
import numpy as np
import pytest

from digitbot.testkit.bot_process import TOKEN, BotProcess
from digitbot.testkit.photos import digit_photo
from tests.code.test_metrics import get, scrape

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_metrics_move_with_photos_and_errors_in_polling_mode(fake_telegram, tmp_path, test_digits):
    digits, _ = test_digits
    port = free_port()
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", METRICS_PORT=str(port))
    process.start()
    try:
        status, body = get(port, "/healthz")
        health = json.loads(body)
        assert status == 200 and health["ok"] and health["database"] == "ok" and health["model"]
        before = scrape(port)
        rng = np.random.default_rng(3)
        fake_telegram.push(fake_telegram.photo_message(801, digit_photo([digits[0]], rng, size=300)))
        fake_telegram.replies_to(801)
        png = cv2.imencode(".png", cv2.imdecode(np.frombuffer(digit_photo([digits[1]], rng, size=300), np.uint8),
                                                cv2.IMREAD_COLOR))[1].tobytes()
        fake_telegram.flood("sendMessage")  # Telegram's flood control answers the next reply with 429 once
        fake_telegram.push(fake_telegram.document_message(802, png, "image/png", "digit.png"))
        fake_telegram.replies_to(802)  # retried after the 1 s Telegram asked for
        after = scrape(port)

        def moved(name: str, **labels: str) -> float:
            key = (name, tuple(sorted(labels.items())))
            return after.get(key, 0.0) - before.get(key, 0.0)

        def read(source: str) -> float:
            return sum(moved("digitbot_photos_total", status=s, source=source) for s in ("ok", "unsure", "no_digit"))

        deadline = time.monotonic() + 10
        while read("file") < 1 and time.monotonic() < deadline:  # counted just after its reply went out
            time.sleep(0.1)
            after = scrape(port)
        assert read("photo") == 1 and read("file") == 1
        assert moved("digitbot_recognition_seconds_count") == 2
        assert moved("digitbot_telegram_errors_total", kind="429", method="sendMessage") == 1
        assert after[("digitbot_model_info", (("version", health["model"]),))] == 1
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert TOKEN.split(":")[1] not in text  # no label carries the token (URLs hold it)
    finally:
        assert process.stop() == 0
