"""Telegram callbacks: thin functions that turn updates into replies. Heavy work runs off the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import texts
from bot.config import Settings
from bot.logging_setup import redact
from bot.models import ModelHolder
from bot.storage import Storage
from recognizer import ImageDecodeError, Recognition
from recognizer.debug import inputs_picture, png_bytes

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 30
SAW_PREFIX = "saw:"


# --- shared objects -------------------------------------------------------------------------------

def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.application.bot_data["settings"]


def storage_of(context: ContextTypes.DEFAULT_TYPE) -> Storage:
    return context.application.bot_data["storage"]


def models_of(context: ContextTypes.DEFAULT_TYPE) -> ModelHolder:
    return context.application.bot_data["models"]


def language(update: Update) -> str:
    user = update.effective_user
    return texts.language_of(user.language_code if user else None)


# --- guards (group -1): they stop the update before the real handlers see it ----------------------

async def admin_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse admin commands to everyone who is not in ADMIN_IDS."""
    user = update.effective_user
    if user is None or user.id not in settings_of(context).admin_ids:
        log.warning("refused admin command %r from user %s", update.effective_message.text,
                    user.id if user else None)
        await update.effective_message.reply_text(texts.text(language(update), "admin_only"))
        raise ApplicationHandlerStop


class RateLimiter:
    """At most ``limit`` photos per user in any 60-second window."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[user_id]
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


async def rate_limit_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask users who send photos too fast to slow down."""
    user = update.effective_user
    limiter: RateLimiter = context.application.bot_data["rate_limiter"]
    if user is not None and not limiter.allow(user.id):
        log.info("rate limit hit by user %s", user.id)
        await update.effective_message.reply_text(texts.text(language(update), "rate_limited"))
        raise ApplicationHandlerStop


# --- commands --------------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain in two lines how to use the bot."""
    await update.effective_message.reply_text(texts.text(language(update), "start"))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to use the bot."""
    await update.effective_message.reply_text(texts.text(language(update), "help"))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with usage figures, the model in use, and a chart (admins only)."""
    from bot.charts import usage_chart  # noqa: PLC0415 - matplotlib is loaded only when an admin asks

    lang = language(update)
    figures = await asyncio.to_thread(storage_of(context).stats)
    manifest = models_of(context).current.manifest
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(figures.by_status.items())) or "—"
    accuracy = manifest.get("test_accuracy")
    message = texts.text(
        lang, "stats", photos=figures.photos, users=figures.users, statuses=statuses, p50=figures.latency_p50_ms,
        p95=figures.latency_p95_ms, version=manifest.get("version", "?"),
        accuracy=f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "?",
        trained=manifest.get("created_at", "?"))
    await update.effective_message.reply_text(message)
    chart = await asyncio.to_thread(usage_chart, figures)
    await update.effective_message.reply_photo(chart, caption="📈")


async def train(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retraining from chat arrives with the learning loop; say so (admins only)."""
    await update.effective_message.reply_text(texts.text(language(update), "train_unavailable"))


# --- photos ----------------------------------------------------------------------------------------

async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Read the largest size of a photo."""
    largest = update.effective_message.photo[-1]
    await read_and_answer(update, context, largest.file_id, largest.file_size)


async def image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Read an image sent as a file (uncompressed)."""
    document = update.effective_message.document
    await read_and_answer(update, context, document.file_id, document.file_size)


async def read_and_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, file_id: str,
                          file_size: int | None) -> None:
    message = update.effective_message
    lang = language(update)
    limit = settings_of(context).max_file_bytes
    if file_size and file_size > limit:
        await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
        return
    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    telegram_file = await context.bot.get_file(file_id, read_timeout=DOWNLOAD_TIMEOUT_S)
    if telegram_file.file_size and telegram_file.file_size > limit:
        await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
        return
    data = bytes(await telegram_file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT_S,
                                                           connect_timeout=10))
    if len(data) > limit:
        await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
        return
    recognizer = models_of(context).current
    try:
        recognition = await asyncio.to_thread(recognizer.recognize, data)
    except ImageDecodeError as error:
        log.info("undecodable image from user %s: %s", update.effective_user.id, error)
        reason = texts.DECODE_REASONS[lang].get(type(error).__name__, texts.DECODE_REASONS[lang]["ImageDecodeError"])
        await message.reply_text(texts.text(lang, "bad_image", reason=reason))
        return
    import numpy as np  # noqa: PLC0415

    inputs = np.stack([d.mnist for d in recognition.digits]) if recognition.digits else None
    answer_id = await asyncio.to_thread(
        storage_of(context).record_answer, update.effective_user.id, message.chat_id, recognition.status,
        recognition.number, recognition.confidence, recognition.seconds * 1000, recognizer.version,
        ",".join(f"{d.digit}:{d.confidence:.4f}" for d in recognition.digits), inputs)
    await message.reply_text(format_answer(recognition, lang), reply_markup=answer_keyboard(answer_id, lang)
                             if recognition.digits else None)


def format_answer(recognition: Recognition, lang: str) -> str:
    """First line begins with the number read, then how sure; details and tips after."""
    tip = texts.text(lang, "tip")
    if recognition.status == "no_digit":
        return texts.text(lang, "no_digit", tip=tip)
    confidence = texts.percent(recognition.confidence)
    if recognition.status == "unsure":
        weakest = min(recognition.digits, key=lambda d: d.confidence)
        alternatives = ", ".join(f"{d} ({texts.percent(p)})" for d, p in weakest.top3[1:])
        return texts.text(lang, "unsure", number=recognition.number, confidence=confidence,
                          alternatives=alternatives, tip=tip)
    if len(recognition.digits) == 1:
        return texts.text(lang, "answer_one", number=recognition.number, confidence=confidence)
    digits = ", ".join(f"{d.digit} ({texts.percent(d.confidence)})" for d in recognition.digits)
    return texts.text(lang, "answer_many", number=recognition.number, confidence=confidence, digits=digits)


def answer_keyboard(answer_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.text(lang, "saw_button"),
                                                       callback_data=f"{SAW_PREFIX}{answer_id}")]])


async def what_i_saw(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the 28x28 inputs of an earlier answer, enlarged, as a picture."""
    query = update.callback_query
    lang = language(update)
    try:
        answer_id = int(query.data.removeprefix(SAW_PREFIX))
    except ValueError:
        answer_id = -1
    row = await asyncio.to_thread(storage_of(context).answer, answer_id)
    if row is None or not row.get("inputs") or row["chat_id"] != query.message.chat.id:
        await query.answer(texts.text(lang, "saw_gone"), show_alert=True)
        return
    await query.answer()
    picture = await asyncio.to_thread(_inputs_png, row)
    await context.bot.send_photo(query.message.chat.id, picture, caption=texts.text(lang, "saw_caption"),
                                 reply_to_message_id=query.message.message_id)


def _inputs_png(row: dict[str, Any]) -> bytes:
    from recognizer import DigitResult  # noqa: PLC0415

    inputs = Storage.inputs_of(row)
    digits = []
    for part, image in zip(row["digits"].split(","), inputs):
        digit, _, confidence = part.partition(":")
        digits.append(DigitResult(int(digit), float(confidence), [], (0, 0, 0, 0), image))
    return png_bytes(inputs_picture(Recognition(row["status"], row["number"], row["confidence"], digits)))


# --- everything else -------------------------------------------------------------------------------

async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point people who type at what the bot does."""
    await update.effective_message.reply_text(texts.text(language(update), "text"))


async def other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse files that are not images."""
    log.info("non-image document %r from user %s", update.effective_message.document.mime_type,
             update.effective_user.id if update.effective_user else None)
    await update.effective_message.reply_text(texts.text(language(update), "not_image_file"))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, voice, video, locations, unknown commands: say what the bot can read."""
    message: Message | None = update.effective_message
    if message is not None:
        await message.reply_text(texts.text(language(update), "unsupported"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every failure with its update, tell the admins briefly, and give the user a kind reply."""
    summary = update.to_dict() if isinstance(update, Update) else repr(update)
    log.error("error while handling update %s", redact(str(summary), settings_of(context).token),
              exc_info=context.error)
    note = redact(f"⚠️ {type(context.error).__name__}: {context.error}", settings_of(context).token)[:500]
    for admin_id in settings_of(context).admin_ids:
        try:
            await context.bot.send_message(admin_id, note)
        except Exception:  # an admin who blocked the bot must not stop the others being told
            log.warning("could not notify admin %s", admin_id)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(texts.text(language(update), "error"))
        except Exception:
            log.warning("could not send the error reply")
