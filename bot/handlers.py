"""Telegram callbacks for everyday use: photos in, answers out, and a kind word for anything else.

Thin functions, as in python-telegram-bot's examples; decoding and recognition run in a worker
thread so the event loop keeps serving other users.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from telegram import Bot, Message, Update
from telegram.constants import ChatAction
from telegram.error import RetryAfter, TelegramError, TimedOut

from bot import metrics, texts
from bot.answers import StoredAnswer
from bot.connectivity import is_unreachable
from bot.context import BotContext, language
from bot.feedback import SAW_PREFIX, answer_keyboard, pressed_answer, typed_correction
from bot.logging_setup import redact
from bot.storage import Storage
from recognizer import ImageDecodeError, Recognition, Recognizer, Status
from recognizer.debug import caption, inputs_picture, png_bytes

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 30
# 'typing' is shown only for answers slower than this (a busy bot, a slow download).
TYPING_AFTER_S = 1.0
# Photos read at once: one per core. More reading threads than cores only take turns at the GIL, and
# each hand-over costs CPU (the Python parts of a reading release and retake it at every NumPy call).
READERS = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="reader")


async def start(update: Update, context: BotContext) -> None:
    """Explain in two lines how to use the bot."""
    await update.effective_message.reply_text(texts.text(language(update), "start"))


async def help_command(update: Update, context: BotContext) -> None:
    """Explain everything a user can do: photos, photo tips, and the buttons under each answer."""
    await update.effective_message.reply_text(texts.text(language(update), "help"))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have (/foo): point to /help, not to photos. A command addressed to
    another bot in a group (/start@other_bot) is not for this one: no reply."""
    message = update.effective_message
    command = message.text.split(maxsplit=1)[0] if message.text else ""
    addressee = command.partition("@")[2]
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    await message.reply_text(texts.text(language(update), "unknown_command"))


async def photo(update: Update, context: BotContext) -> None:
    """Read the largest size of a photo."""
    largest = update.effective_message.photo[-1]
    await counted_reading(update, context, largest.file_id, largest.file_size, "photo")


async def image_document(update: Update, context: BotContext) -> None:
    """Read an image sent as a file (uncompressed)."""
    document = update.effective_message.document
    await counted_reading(update, context, document.file_id, document.file_size, "file")


async def counted_reading(update: Update, context: BotContext, file_id: str, file_size: int | None,
                          source: str) -> None:
    """``read_and_answer``, counted in ``digitbot_photos`` by its outcome ('error' when it raised)."""
    status = "error"
    try:
        status = await read_and_answer(update, context, file_id, file_size)
    finally:
        metrics.PHOTOS.labels(status=status, source=source).inc()


async def read_and_answer(update: Update, context: BotContext, file_id: str,
                          file_size: int | None) -> str:
    """Download, read and store in one worker-thread trip, then answer: three requests for a quick answer.

    Returns the outcome: the recognition's status, or why there was none ('too_large', 'undecodable').
    """
    message = update.effective_message
    lang = language(update)
    limit = context.settings.max_file_bytes
    if file_size and file_size > limit:
        await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
        return "too_large"
    async with typing_if_slow(context.bot, message.chat_id):
        telegram_file = await context.bot.get_file(file_id, read_timeout=DOWNLOAD_TIMEOUT_S)
        if telegram_file.file_size and telegram_file.file_size > limit:
            await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
            return "too_large"
        try:
            data = bytes(await telegram_file.download_as_bytearray(read_timeout=DOWNLOAD_TIMEOUT_S,
                                                                   connect_timeout=10))
        except TimedOut:  # Telegram's file server, not the API, was slow: the user can send it again
            log.warning("download of a picture from user %s timed out", update.effective_user.id)
            await message.reply_text(texts.text(lang, "download_failed"))
            return "download_failed"
        if len(data) > limit:
            await message.reply_text(texts.text(lang, "too_large", limit=limit // (1024 * 1024)))
            return "too_large"
        recognizer = context.models.current
        try:
            recognition, answer_id = await asyncio.get_running_loop().run_in_executor(
                READERS, _read_and_store, recognizer, data, context.storage, update.effective_user.id, message.chat_id)
        except ImageDecodeError as error:
            log.info("undecodable image from user %s: %s", update.effective_user.id, error)
            reasons = texts.DECODE_REASONS[lang]
            reason = reasons.get(type(error).__name__, reasons["ImageDecodeError"])
            await message.reply_text(texts.text(lang, "bad_image", reason=reason))
            return "undecodable"
    metrics.RECOGNITION_SECONDS.observe(recognition.seconds)
    # The answer is committed before the reply goes out: a reply the user has is never lost to kill -9.
    await message.reply_text(format_answer(recognition, lang), reply_markup=answer_keyboard(answer_id, lang)
                             if recognition.digits else None)
    return Status(recognition.status).value


def _read_and_store(recognizer: Recognizer, data: bytes, storage: Storage, user_id: int,
                    chat_id: int) -> tuple[Recognition, int]:
    """Read the photo and commit its answer (one transaction): one worker-thread trip, not two."""
    recognition = recognizer.recognize(data)
    answer = StoredAnswer.of(recognition, chat_id, recognizer.version)
    return recognition, storage.record_answer(user_id, answer)


@contextlib.asynccontextmanager
async def typing_if_slow(bot: Bot, chat_id: int, after_s: float = TYPING_AFTER_S) -> AsyncIterator[None]:
    """Show 'typing' only when the work inside takes longer than ``after_s``.

    A quick answer arrives before the indicator would be seen, and the request cost the bot as much CPU
    as the reply itself (issue 15). When the indicator did go out, the block's exit waits for it, so it
    never reaches Telegram after the answer (it would then show 'typing' under the answer).
    """
    sent: asyncio.Task[None] | None = None

    async def send() -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:  # only a courtesy: the answer still goes out
            log.debug("could not show 'typing' in chat %s: %s", chat_id, error)

    def start() -> None:
        nonlocal sent
        sent = asyncio.create_task(send())

    timer = asyncio.get_running_loop().call_later(after_s, start)
    try:
        yield
    finally:
        timer.cancel()
        if sent is not None:
            await sent


MAX_DOUBTS = 3  # digits in doubt named in an unsure answer


def format_answer(recognition: Recognition, lang: str) -> str:
    """First line begins with the number read, then how sure; details and tips after.

    An unsure answer names what is in doubt: the digits the network is least sure of, each with
    what else it might be, and other ways to read the whole number (a digit more or less).
    """
    tip = texts.text(lang, "tip")
    if recognition.status == Status.NO_DIGIT:
        return texts.text(lang, "no_digit", tip=tip)
    confidence = texts.chance(recognition.confidence)
    if recognition.status == Status.UNSURE:
        lines = [texts.text(lang, "unsure", number=recognition.number, confidence=confidence)]
        doubtful = recognition.doubtful or [min(range(len(recognition.digits)),
                                                key=lambda i: recognition.digits[i].confidence)]
        for position in doubtful[:MAX_DOUBTS]:
            digit = recognition.digits[position]
            others = texts.either(lang, [texts.share(lang, d, p, is_chance=True)
                                         for d, p in digit.top3[1:] if p >= 0.01])
            if others:
                lines.append(texts.text(lang, "doubt", position=position + 1, count=len(recognition.digits),
                                        digit=digit.digit, confidence=texts.chance(digit.confidence),
                                        others=others))
        readings = [number for number, share in recognition.alternatives if number and share >= 0.02]
        if readings:
            lines.append(texts.text(lang, "other_readings", readings=texts.either(lang, readings[:3])))
        lines.append(tip)
        return "\n".join(lines)
    if len(recognition.digits) == 1:
        return texts.text(lang, "answer_one", number=recognition.number, confidence=confidence)
    digits = texts.listing(lang, [texts.share(lang, d.digit, d.confidence, is_chance=True)
                                     for d in recognition.digits])
    return texts.text(lang, "answer_many", number=recognition.number, confidence=confidence, digits=digits)


async def what_i_saw(update: Update, context: BotContext) -> None:
    """Send the 28x28 inputs of an earlier answer, enlarged, as a picture."""
    query = update.callback_query
    lang = language(update)
    answer = await pressed_answer(update, context, SAW_PREFIX)
    if answer is None:
        return
    if not answer.digits:
        await query.answer(texts.text(lang, "saw_gone"), show_alert=True)
        return
    await query.answer()
    picture = await asyncio.to_thread(_inputs_png, answer)
    await context.bot.send_photo(query.message.chat.id, picture, caption=texts.text(lang, "saw_caption"),
                                 reply_to_message_id=query.message.message_id)


def _inputs_png(answer: StoredAnswer) -> bytes:
    """The stored inputs, each captioned with what the model said of it."""
    return png_bytes(inputs_picture(answer.images, [caption(d.digit, d.confidence) for d in answer.digits]))


async def text_message(update: Update, context: BotContext) -> None:
    """Take a typed correction, or point people who type at what the bot does."""
    if await typed_correction(update, context):
        return
    await update.effective_message.reply_text(texts.text(language(update), "text"))


async def other_document(update: Update, context: BotContext) -> None:
    """Refuse files that are not images."""
    log.info("non-image document %r from user %s", update.effective_message.document.mime_type,
             update.effective_user.id if update.effective_user else None)
    await update.effective_message.reply_text(texts.text(language(update), "not_image_file"))


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, voice, video, locations: say what the bot can read."""
    message: Message | None = update.effective_message
    if message is not None:
        await message.reply_text(texts.text(language(update), "unsupported"))


async def on_error(update: object, context: BotContext) -> None:
    """Log every failure with its update, tell the admins briefly, and give the user a kind reply.

    Telegram being unreachable is one log line and nothing more: replies could not be sent anyway,
    and bot.connectivity tells the admins once when the outage is over.
    """
    if is_unreachable(context.error):
        log.warning("could not reach Telegram while handling an update: %s: %s", type(context.error).__name__,
                    redact(str(context.error), context.settings.token))
        return
    if isinstance(context.error, RetryAfter):  # flood control, after the limiter's retries: no error of ours,
        # and a note to the admins (or a reply to the user) per message would only add to the flood
        log.warning("Telegram's flood control dropped a reply (retry after %s)", context.error.retry_after)
        return
    if isinstance(update, Update) and update.callback_query is not None:
        try:  # an unanswered press leaves the user's client spinning
            await update.callback_query.answer()
        except Exception:
            log.debug("the failed press could not be answered")
    summary = update.to_dict() if isinstance(update, Update) else repr(update)
    log.error("error while handling update %s", redact(str(summary), context.settings.token),
              exc_info=context.error)
    error = redact(f"{type(context.error).__name__}: {context.error}", context.settings.token)[:500]
    for admin_id in context.settings.admin_ids:
        try:
            lang = await asyncio.to_thread(context.storage.admin_language, admin_id)
            await context.bot.send_message(admin_id, texts.text(lang, "admin_error", error=error))
        except Exception:  # an admin who blocked the bot must not stop the others being told
            log.warning("could not notify admin %s", admin_id)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(texts.text(language(update), "error"))
        except Exception:
            log.warning("could not send the error reply")
