"""A short conversation with the real bot, in English and in Chinese, written down as a user sees it.

    python bench/conversation.py

Starts ``python -m bot`` against the local Bot API stand-in (digitbot/testkit/fake_telegram.py) and,
in each language, plays a user (/start, /help, a photo confirmed with ✅, a number corrected with the
keypad, ⌫ and then by typing, an unknown command, a sticker) and an admin (/stats). Writes
bench/results/conversation.md (the transcript: every message, edit, button and toast) and the /stats
pictures bench/results/stats-en.png and stats-zh.png. Fixed seeds: the same run gives the same words.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import RESULTS, mnist_path
from digitbot.testkit.bot_process import ADMIN_ID, TOKEN, BotProcess
from digitbot.testkit.fake_telegram import Call, FakeTelegram
from digitbot.testkit.photos import digit_photo

SHOWN = ("sendMessage", "sendPhoto", "editMessageText", "answerCallbackQuery")
STICKER = {"file_id": "s", "file_unique_id": "s", "width": 512, "height": 512, "is_animated": False,
           "is_video": False, "type": "regular"}


class Conversation:
    """Plays one side of a chat and writes down what the bot does in it."""

    def __init__(self, fake: FakeTelegram, lines: list[str]) -> None:
        self.fake = fake
        self.lines = lines
        self.seen = len(self._bot_calls())  # what the bot did before this conversation is not part of it
        self.message_ids: dict[int, int] = {}  # the bot's messages, as the stand-in numbered them

    def _bot_calls(self) -> list[Call]:
        return [c for c in self.fake.calls if c.method in SHOWN]

    def act(self, said: str, update: dict[str, Any], replies: int = 1, timeout: float = 60) -> list[Call]:
        """Push an update, wait for ``replies`` calls of the bot, and write both down."""
        self.lines.append(f"\n**{said}**\n")
        self.fake.push(update)
        calls = self.fake.wait_for(lambda _: (lambda new: new if len(new) >= replies else None)(
            self._bot_calls()[self.seen:]), timeout)
        time.sleep(0.3)  # anything the bot sends right after (a toast with an edit)
        calls = self._bot_calls()[self.seen:]
        self.seen += len(calls)
        for call in calls:
            self.lines.append(describe(call))
        return calls


def describe(call: Call) -> str:
    """One bot call as a user sees it: a message with its buttons, an edit, a toast, a picture."""
    params = call.params
    buttons = ""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        buttons = "\n> " + " · ".join(f"[{b['text']}]" for row in markup["inline_keyboard"] for b in row)
    if call.method == "answerCallbackQuery":
        return f"- toast: {params.get('text') or '(none)'}"
    if call.method == "sendPhoto":
        return f"- picture ({len(call.files.get('photo', b''))} bytes): {params.get('caption', '')}"
    what = "edits its answer" if call.method == "editMessageText" else "says"
    text = str(params.get("text", "")).replace("\n", "\n> ")
    return f"- bot {what}:\n> {text}{buttons}"


def message_as_shown(call: Call, chat: int, message_id: int) -> dict[str, Any]:
    return {"message_id": message_id, "date": 0, "chat": {"id": chat, "type": "private"},
            "text": call.params["text"], "reply_markup": call.params.get("reply_markup")}


def buttons_of(call: Call) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row}


def play(fake: FakeTelegram, lang: str, user: int, lines: list[str], digits: np.ndarray, labels: np.ndarray,
         rng: np.random.Generator) -> bytes:
    """One language's conversation; returns the /stats picture."""
    code = "zh-hans" if lang == "zh" else "en"
    chat = Conversation(fake, lines)
    lines.append(f"\n## {'Chinese (language_code zh-hans)' if lang == 'zh' else 'English'}\n")
    chat.act("/start", fake.command(user, "/start", language=code))
    chat.act("/help", fake.command(user, "/help", language=code))
    seven = digits[np.flatnonzero(labels == 7)[0]]
    answer = chat.act("📷 a photo of a 7", fake.photo_message(user, digit_photo([seven], rng), language=code))[0]
    shown = message_as_shown(answer, user, 100 + user)
    right = next(t for t in buttons_of(answer) if t.startswith("✅"))
    chat.act(f"taps {right}", fake.callback(user, buttons_of(answer)[right], shown, language=code), replies=2)

    two, four = digits[np.flatnonzero(labels == 2)[1]], digits[np.flatnonzero(labels == 4)[0]]
    number = chat.act("📷 a photo of 24", fake.photo_message(user, digit_photo([two, four], rng, digit_height=0.3),
                                                           language=code))[0]
    shown = message_as_shown(number, user, 200 + user)
    wrong = next(t for t in buttons_of(number) if t.startswith("✏️"))
    keypad = chat.act(f"taps {wrong}", fake.callback(user, buttons_of(number)[wrong], shown, language=code),
                      replies=2)
    edit = next(c for c in keypad if c.method == "editMessageText")
    keys = buttons_of(edit)
    shown_keypad = message_as_shown(edit, user, 200 + user)
    after = chat.act("taps 1 on the keypad", fake.callback(user, keys["1"], shown_keypad, language=code), replies=2)
    shown_keypad = message_as_shown(next(c for c in after if c.method == "editMessageText"), user, 200 + user)
    chat.act("taps ⌫", fake.callback(user, keys["⌫"], shown_keypad, language=code), replies=2)
    chat.act("types 240 (playing a user whose photo had a third digit the bot missed: the keypad can't say so)",
             fake.message(user, text="240", language=code), replies=2)
    chat.act("/foo", fake.command(user, "/foo", language=code))
    chat.act("a sticker", fake.message(user, sticker=STICKER, language=code))
    stats = chat.act("admin: /stats", fake.command(ADMIN_ID, "/stats", language=code), replies=2)
    return next(c for c in stats if c.method == "sendPhoto").files["photo"]


def main() -> None:
    rng = np.random.default_rng(0)
    with np.load(mnist_path()) as data:
        digits, labels = data["x_test"], data["y_test"]
    lines = ["# A conversation with digitbot", "",
             "Written by `python bench/conversation.py`: the real bot against the local Bot API stand-in. "
             "**Bold** is what the user (or the admin) does; quoted text is what the bot sends."]
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(TOKEN) as fake:
        bot = BotProcess(fake, Path(tmp) / "data", Path(tmp) / "bot.log")
        bot.start()
        try:
            for lang, user in (("en", 11), ("zh", 12)):
                picture = play(fake, lang, user, lines, digits, labels, rng)
                (RESULTS / f"stats-{lang}.png").write_bytes(picture)
        finally:
            bot.stop()
    path = RESULTS / "conversation.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}, {RESULTS / 'stats-en.png'}, {RESULTS / 'stats-zh.png'}")


if __name__ == "__main__":
    main()
