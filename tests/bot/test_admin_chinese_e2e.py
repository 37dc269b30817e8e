"""End to end, a Chinese admin: every admin message is Chinese (/stats and its picture, /train from start
to its final picture, /rollback, the interrupted-run note), and the command menus are set per language and
per admin chat, so strangers are never shown /train."""

from __future__ import annotations

import re
import signal

import numpy as np
import pytest

from digitbot.testkit.bot_process import ADMIN_ID, BotProcess
from digitbot.testkit.photos import digit_photo

pytestmark = pytest.mark.slow
ZH = "zh-hans"
# What may stay in Latin letters in a Chinese message: commands, names, model versions.
_ALLOWED = re.compile(r"/\w+(?: cancel)?|MNIST|UTC|Telegram|\d{8}T\d{6}Z")


def _is_chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and not re.search(r"[A-Za-z]{2,}", _ALLOWED.sub("", text))


def _admin_messages(fake) -> list[str]:
    said = []
    for call in fake.calls:
        if call.params.get("chat_id") != ADMIN_ID:
            continue
        if call.method in ("sendMessage", "editMessageText"):
            said.append(str(call.params["text"]))
        elif call.method == "sendPhoto":
            said.append(str(call.params.get("caption", "")))
    return said


def _confirm_five_digits(fake, mnist) -> None:
    """Five confirmed answers: five feedback samples, the fifth held out to judge a candidate."""
    for i in range(5):
        user = 820 + i
        fake.push(fake.photo_message(user, digit_photo([mnist["x_test"][i]], np.random.default_rng(i))))
        reply = fake.replies_to(user)[0]
        right = next(b["callback_data"] for row in reply.params["reply_markup"]["inline_keyboard"] for b in row
                     if b["callback_data"].startswith("ok:"))
        message = {"message_id": 40 + i, "date": 0, "chat": {"id": user, "type": "private"},
                   "text": reply.params["text"]}
        fake.push(fake.callback(user, right, message))
        fake.calls_with_text("noted as right", "editMessageText")
        fake.wait_for(lambda calls, u=user: [c for c in calls if c.method == "editMessageText"
                                             and c.params.get("chat_id") == u])


def test_menus_per_language_and_admin_chat(training_bot):
    calls = training_bot.fake.wait_for(lambda calls: (lambda s: s if len(s) >= 4 else None)(
        [c for c in calls if c.method == "setMyCommands"]))
    menus = {(str(c.params.get("scope", {}).get("type", "default")), c.params.get("scope", {}).get("chat_id"),
              c.params.get("language_code")): {cmd["command"]: cmd["description"] for cmd in c.params["commands"]}
             for c in calls}
    everyone, everyone_zh = menus[("default", None, None)], menus[("default", None, "zh")]
    admin, admin_zh = menus[("chat", ADMIN_ID, None)], menus[("chat", ADMIN_ID, "zh")]
    assert set(everyone) == set(everyone_zh) == {"start", "help"}  # strangers never see /train
    assert set(admin) == set(admin_zh) == {"start", "help", "stats", "train", "rollback"}
    assert all(_is_chinese(description) for description in [*everyone_zh.values(), *admin_zh.values()])


def test_a_chinese_admin_gets_chinese_in_every_message(training_bot, mnist):
    fake = training_bot.fake
    _confirm_five_digits(fake, mnist)
    fake.push(fake.command(ADMIN_ID, "/stats", language=ZH))
    stats = fake.replies_to(ADMIN_ID, count=2, timeout=30)
    text = next(c for c in stats if c.method == "sendMessage").params["text"]
    assert "已识别照片：5" in text and "训练日期：20" in text and "年" in text
    assert re.search(r"各数字（答对/反馈数）：\d：1/1（100%）、", text)  # counts, full-width brackets, 、

    fake.push(fake.command(ADMIN_ID, "/rollback", language=ZH))
    fake.calls_with_text("没有更早的模型可以换回")
    fake.push(fake.command(ADMIN_ID, "/train many", language=ZH))
    fake.calls_with_text("用法：/train")
    fake.push(fake.command(ADMIN_ID, "/train 1", language=ZH))
    started = fake.calls_with_text("开始训练", "sendMessage")[0].params["text"]
    assert "1 轮" in started and "5 个样本的用户反馈" in started and "1 个样本留作检验" in started
    fake.push(fake.command(ADMIN_ID, "/train 1", language=ZH))
    fake.calls_with_text("已有训练在进行")

    outcomes = ("已启用新模型", "保留正在使用的模型")
    final = fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"
                                         and any(o in c.params["text"] for o in outcomes)], timeout=400)[0]
    final = final.params["text"]
    assert "判断依据" in final and "1 个留作检验的反馈样本" in final
    picture = fake.wait_for(lambda calls: [c for c in calls if c.method == "sendPhoto"
                                           and "学习曲线" in str(c.params.get("caption"))], timeout=60)[0]
    assert picture.files["photo"].startswith(b"\x89PNG")
    if "已启用新模型" in final:
        fake.push(fake.command(ADMIN_ID, "/rollback", language=ZH))
        fake.calls_with_text("已换回模型")
    said = _admin_messages(fake)
    assert len(said) >= 9
    for message in said:
        assert _is_chinese(message), message


def test_the_interrupted_run_is_reported_in_chinese(fake_telegram, tmp_path, models_copy, mnist_path):
    env = {"MODEL_DIR": str(models_copy), "MNIST_PATH": str(mnist_path)}
    process = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", **env)
    process.start()
    fake_telegram.push(fake_telegram.command(ADMIN_ID, "/train 3", language=ZH))
    fake_telegram.calls_with_text("开始训练")
    process.stop(signal.SIGKILL)
    restarted = BotProcess(fake_telegram, tmp_path / "data", tmp_path / "bot.log", **env)
    restarted.start()
    try:
        note = fake_telegram.calls_with_text("中断")[0]
        assert note.params["chat_id"] == ADMIN_ID and _is_chinese(note.params["text"])
    finally:
        assert restarted.stop() == 0
