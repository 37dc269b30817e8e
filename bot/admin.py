"""Admin commands: /stats, /train and /rollback (the admin guard has already checked who asks).

Every reply is in the admin's language (bot.texts), the /stats picture included (bot.pictures).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot import pictures, texts
from bot.context import BotContext, language
from bot.storage import FeedbackStats, Stats

log = logging.getLogger(__name__)

DEFAULT_TRAIN_EPOCHS = 5
MAX_TRAIN_EPOCHS = 50
STATUS_ORDER = ("ok", "unsure", "no_digit")  # recognizer.Status values, as stored


def stats_text(lang: str, figures: Stats, feedback: FeedbackStats, manifest: dict) -> str:
    """The /stats message: words for every figure, no raw keys, a date people read, "none yet" for no data."""
    statuses = texts.listing(lang, [texts.text(lang, f"status_{status}", count=figures.by_status[status])
                                    for status in STATUS_ORDER if figures.by_status.get(status)])
    latency = (texts.text(lang, "latency", p50=figures.latency_p50_ms, p95=figures.latency_p95_ms)
               if figures.photos else texts.text(lang, "none_yet"))
    accuracy = manifest.get("test_accuracy")
    message = texts.text(
        lang, "stats", photos=figures.photos, users=figures.users, statuses=statuses or texts.text(lang, "none_yet"),
        latency=latency, version=manifest.get("version", "?"),
        accuracy=f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "?",
        trained=texts.date(lang, manifest.get("created_at")))
    given = feedback.confusion.sum(axis=1)
    right = feedback.confusion.diagonal()
    colon = "：" if lang == "zh" else ": "
    per_digit = texts.listing(lang, [texts.share(lang, f"{digit}{colon}{right[digit]}/{given[digit]}", accuracy)
                                     for digit, accuracy in feedback.per_digit_accuracy.items() if given[digit]])
    overall = (texts.text(lang, "feedback_accuracy", accuracy=f"{feedback.accuracy:.1%}",
                          digits=texts.counted(lang, "digits_count", feedback.samples))
               if feedback.accuracy is not None else texts.text(lang, "none_yet"))
    return message + texts.text(lang, "feedback_stats", confirmed=feedback.confirmed, corrected=feedback.corrected,
                                miscounted=texts.text(lang, "feedback_miscounted", count=feedback.miscounted)
                                if feedback.miscounted else "",
                                accuracy=overall, per_digit=per_digit or texts.text(lang, "none_yet"))


async def stats(update: Update, context: BotContext) -> None:
    """Reply with usage figures, the model in use, and a picture made for a phone (admins only)."""
    lang = language(update)
    figures = await asyncio.to_thread(context.storage.stats)
    feedback = await asyncio.to_thread(context.storage.feedback_stats)
    await update.effective_message.reply_text(stats_text(lang, figures, feedback, context.models.current.manifest))
    chart = await pictures.render(pictures.stats_picture, lang, figures.per_day, figures.digits_read,
                                  feedback.confusion)
    await update.effective_message.reply_photo(chart, caption=texts.text(lang, "chart_caption"))


async def train(update: Update, context: BotContext) -> None:
    """Start retraining in a separate process: /train [epochs] or /train cancel (admins only)."""
    jobs = context.training
    message = update.effective_message
    lang = language(update)
    argument = context.args[0].lower() if context.args else ""
    if argument == "cancel":
        cancelled = await jobs.cancel()
        await message.reply_text(texts.text(lang, "train_cancelling" if cancelled else "train_not_running"))
        return
    if jobs.busy:
        await message.reply_text(texts.text(lang, "train_busy", progress=jobs.progress(lang)))
        return
    try:
        epochs = int(argument) if argument else DEFAULT_TRAIN_EPOCHS
    except ValueError:
        epochs = 0
    if not 1 <= epochs <= MAX_TRAIN_EPOCHS:
        await message.reply_text(texts.text(lang, "train_usage", limit=MAX_TRAIN_EPOCHS))
        return
    if await jobs.start(message.chat_id, epochs, lang) is None:  # another /train got there first
        await message.reply_text(texts.text(lang, "train_busy", progress=jobs.progress(lang)))


async def rollback(update: Update, context: BotContext) -> None:
    """Go back to the model that was in use before the last install (admins only).

    The earlier model is loaded and checked first; only a model that answers is switched to, so a
    damaged one leaves both the running bot and ``CURRENT`` as they were.
    """
    from recognizer import ModelError, Recognizer  # noqa: PLC0415

    lang = language(update)
    models = context.models
    previous = models.store.previous()
    if previous is None:
        await update.effective_message.reply_text(texts.text(lang, "rollback_none"))
        return
    current = models.store.current() or models.current.version
    try:
        recognizer = await asyncio.to_thread(models.store.switch_to, previous, Recognizer.load)
    except ModelError as error:
        log.warning("rollback to %s refused: %s", previous, error)
        await update.effective_message.reply_text(texts.text(lang, "rollback_refused", previous=previous,
                                                             error=error, current=current))
        return
    models.use(recognizer)
    log.info("rolled back from %s to %s", current, previous)
    await update.effective_message.reply_text(texts.text(
        lang, "rollback_done", version=recognizer.version, current=current,
        accuracy=f"{recognizer.manifest.get('test_accuracy', 0):.2%}"))
