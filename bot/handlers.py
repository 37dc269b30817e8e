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
from bot.training_job import TrainingJobs
from recognizer import ImageDecodeError, Recognition
from recognizer.debug import inputs_picture, png_bytes

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 30
DEFAULT_TRAIN_EPOCHS = 5
MAX_TRAIN_EPOCHS = 50
SAW_PREFIX = "saw:"
RIGHT_PREFIX = "ok:"
WRONG_PREFIX = "no:"
FIX_PREFIX = "fix:"


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
    feedback = await asyncio.to_thread(storage_of(context).feedback_stats)
    per_digit = ", ".join(f"{d}: {a:.0%}" for d, a in feedback.per_digit_accuracy.items()) or "—"
    message += texts.text(lang, "feedback_stats", confirmed=feedback.confirmed, corrected=feedback.corrected,
                          accuracy=f"{feedback.accuracy:.1%} of {feedback.samples} digits"
                          if feedback.accuracy is not None else "—", per_digit=per_digit)
    await update.effective_message.reply_text(message)
    chart = await asyncio.to_thread(usage_chart, figures, feedback)
    await update.effective_message.reply_photo(chart, caption="📈")


async def train(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start retraining in a separate process: /train [epochs] or /train cancel (admins only)."""
    jobs: TrainingJobs = context.application.bot_data["training"]
    message = update.effective_message
    argument = context.args[0].lower() if context.args else ""
    if argument == "cancel":
        cancelled = await jobs.cancel()
        await message.reply_text("Cancelling the training run…" if cancelled else "No training is running.")
        return
    if jobs.current is not None:
        await message.reply_text(f"A training run is already going: {jobs.current.progress}. "
                                 "Use /train cancel to stop it.")
        return
    try:
        epochs = int(argument) if argument else DEFAULT_TRAIN_EPOCHS
    except ValueError:
        epochs = 0
    if not 1 <= epochs <= MAX_TRAIN_EPOCHS:
        await message.reply_text(f"Usage: /train [epochs 1-{MAX_TRAIN_EPOCHS}] or /train cancel")
        return
    await jobs.start(message.chat_id, epochs)


async def rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Go back to the model that was in use before the last install (admins only)."""
    from recognizer.model_store import CURRENT_FILE, PREVIOUS_FILE  # noqa: PLC0415
    from recognizer.model_store import set_current  # noqa: PLC0415

    jobs: TrainingJobs = context.application.bot_data["training"]
    models_dir = jobs.models_dir
    previous_file = models_dir / PREVIOUS_FILE
    previous = previous_file.read_text(encoding="utf-8").strip() if previous_file.is_file() else ""
    if not previous or not (models_dir / previous).is_dir():
        await update.effective_message.reply_text("There is no earlier model to roll back to.")
        return
    current = (models_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    await asyncio.to_thread(set_current, models_dir, previous)
    recognizer = await asyncio.to_thread(models_of(context).reload)
    log.info("rolled back from %s to %s", current, previous)
    await update.effective_message.reply_text(f"↩️ Rolled back to model {recognizer.version} (MNIST test accuracy "
                                              f"{recognizer.manifest.get('test_accuracy', 0):.2%}). "
                                              f"/rollback again returns to {current}.")


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
    """✅ Right / ✏️ Wrong, and 🔍 What I saw."""
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(texts.text(lang, "right_button"), callback_data=f"{RIGHT_PREFIX}{answer_id}"),
         InlineKeyboardButton(texts.text(lang, "wrong_button"), callback_data=f"{WRONG_PREFIX}{answer_id}")],
        [InlineKeyboardButton(texts.text(lang, "saw_button"), callback_data=f"{SAW_PREFIX}{answer_id}")],
    ])


def keypad(answer_id: int) -> InlineKeyboardMarkup:
    """Digit buttons 0-9 for correcting one digit of an answer."""
    buttons = [InlineKeyboardButton(str(d), callback_data=f"{FIX_PREFIX}{answer_id}:{d}") for d in range(10)]
    return InlineKeyboardMarkup([buttons[:5], buttons[5:]])


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


# --- feedback --------------------------------------------------------------------------------------

async def _answer_for_query(update: Update, context: ContextTypes.DEFAULT_TYPE, prefix: str) -> dict[str, Any] | None:
    """The stored answer a button press refers to, or None (after telling the user) if it is not usable."""
    query = update.callback_query
    lang = language(update)
    try:
        answer_id = int(query.data.removeprefix(prefix).split(":")[0])
    except ValueError:
        answer_id = -1
    row = await asyncio.to_thread(storage_of(context).answer, answer_id)
    if row is None or query.message is None or row["chat_id"] != query.message.chat.id:
        await query.answer(texts.text(lang, "saw_gone"), show_alert=True)
        return None
    if await asyncio.to_thread(storage_of(context).has_feedback, answer_id):
        await query.answer(texts.text(lang, "already_noted"))
        return None
    return row


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store a "✅ Right" as labelled samples and acknowledge it in the message."""
    row = await _answer_for_query(update, context, RIGHT_PREFIX)
    if row is None:
        return
    lang = language(update)
    stored = await asyncio.to_thread(storage_of(context).record_feedback, row["id"], update.effective_user.id,
                                     "right", row["number"])
    await update.callback_query.answer(texts.text(lang, "thanks_right" if stored else "already_noted"))
    if stored:
        await _acknowledge(update, row["id"], texts.text(lang, "noted_right"))


async def start_correction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the digit keypad (and invite typing the number) after "✏️ Wrong"."""
    row = await _answer_for_query(update, context, WRONG_PREFIX)
    if row is None:
        return
    lang = language(update)
    await asyncio.to_thread(storage_of(context).set_correction_progress, row["id"], row["chat_id"], "")
    await update.callback_query.answer()
    prompt = texts.text(lang, "which_digit", position=1, count=len(row["number"]))
    await update.callback_query.edit_message_text(f"{update.callback_query.message.text}\n\n{prompt}",
                                                  reply_markup=keypad(row["id"]))


async def keypad_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One digit of a correction; after the last one, store the corrected samples."""
    row = await _answer_for_query(update, context, FIX_PREFIX)
    if row is None:
        return
    query = update.callback_query
    lang = language(update)
    storage = storage_of(context)
    so_far = await asyncio.to_thread(storage.correction_progress, row["id"])
    if so_far is None:  # the keypad of an answer whose correction was never started here
        await query.answer(texts.text(lang, "saw_gone"), show_alert=True)
        return
    digits = so_far + query.data.rsplit(":", 1)[1]
    if len(digits) < len(row["number"]):
        await asyncio.to_thread(storage.set_correction_progress, row["id"], row["chat_id"], digits)
        await query.answer(digits)
        base = (query.message.text or "").split("\n\n")[0]
        prompt = texts.text(lang, "which_digit", position=len(digits) + 1, count=len(row["number"]))
        await query.edit_message_text(f"{base}\n\n{texts.text(lang, 'so_far', digits=digits)} {prompt}",
                                      reply_markup=keypad(row["id"]))
        return
    stored = await asyncio.to_thread(storage.record_feedback, row["id"], update.effective_user.id, "wrong", digits)
    await query.answer(texts.text(lang, "thanks_fixed", number=digits) if stored else texts.text(lang, "already_noted"))
    if stored:
        await _acknowledge(update, row["id"], texts.text(lang, "noted_fixed", number=digits))


async def _acknowledge(update: Update, answer_id: int, note: str) -> None:
    """Replace the feedback buttons under an answer by a note; "What I saw" stays."""
    query = update.callback_query
    answer_text = (query.message.text or "").split("\n\n")[0]  # drop the keypad prompt, if any
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(texts.text(language(update), "saw_button"),
                                                           callback_data=f"{SAW_PREFIX}{answer_id}")]])
    await query.edit_message_text(f"{answer_text}\n\n{note}", reply_markup=keyboard)


async def typed_correction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A number typed while a correction is open in this chat; True if it was taken as one."""
    message = update.effective_message
    text = (message.text or "").strip().replace(" ", "")
    if not text.isdigit():
        return False
    storage = storage_of(context)
    answer_id = await asyncio.to_thread(storage.pending_correction, message.chat_id)
    if answer_id is None:
        return False
    stored = await asyncio.to_thread(storage.record_feedback, answer_id, update.effective_user.id, "wrong", text)
    lang = language(update)
    await message.reply_text(texts.text(lang, "noted_fixed", number=text) if stored
                             else texts.text(lang, "already_noted"))
    return True


# --- everything else -------------------------------------------------------------------------------

async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a typed correction, or point people who type at what the bot does."""
    if await typed_correction(update, context):
        return
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
