"""'typing' is a request like any other: sent only when an answer is slow, and never after the answer."""

from __future__ import annotations

import asyncio

from telegram.constants import ChatAction
from telegram.error import NetworkError

from bot.handlers import typing_if_slow


class TelegramStandIn:
    """Telegram's side of send_chat_action: records what was sent, and when the request finished."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[str] = []
        self.actions: list[tuple[int, str]] = []
        self.started = asyncio.Event()
        self.fail = fail

    async def send_chat_action(self, chat_id: int, action: str) -> bool:
        self.events.append("typing sent")
        self.started.set()
        await asyncio.sleep(0)  # the request is in flight for a while
        await asyncio.sleep(0)
        if self.fail:
            raise NetworkError("connection reset")
        self.actions.append((chat_id, action))
        self.events.append("typing done")
        return True


async def test_a_quick_answer_sends_no_typing():
    telegram = TelegramStandIn()
    async with typing_if_slow(telegram, 7, after_s=3600):
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # a timer left behind would have its chance here
    assert telegram.events == [] and telegram.actions == []


async def test_a_slow_answer_shows_typing_once_and_before_the_answer():
    telegram = TelegramStandIn()
    async with typing_if_slow(telegram, 7, after_s=0):
        await telegram.started.wait()  # the work outlasts the delay: the indicator goes out meanwhile
    telegram.events.append("answer")
    assert telegram.actions == [(7, ChatAction.TYPING)]
    assert telegram.events == ["typing sent", "typing done", "answer"]


async def test_typing_that_fails_does_not_stop_the_answer():
    telegram = TelegramStandIn(fail=True)
    async with typing_if_slow(telegram, 7, after_s=0):
        await telegram.started.wait()
    telegram.events.append("answer")
    assert telegram.actions == [] and telegram.events == ["typing sent", "answer"]
