"""Admin commands: /stats, /train and /rollback (the admin guard has already checked who asks)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot import texts
from bot.context import BotContext, language
from recognizer.charts import usage_chart

log = logging.getLogger(__name__)

DEFAULT_TRAIN_EPOCHS = 5
MAX_TRAIN_EPOCHS = 50


async def stats(update: Update, context: BotContext) -> None:
    """Reply with usage figures, the model in use, and a chart (admins only)."""
    lang = language(update)
    figures = await asyncio.to_thread(context.storage.stats)
    manifest = context.models.current.manifest
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(figures.by_status.items())) or "—"
    accuracy = manifest.get("test_accuracy")
    message = texts.text(
        lang, "stats", photos=figures.photos, users=figures.users, statuses=statuses, p50=figures.latency_p50_ms,
        p95=figures.latency_p95_ms, version=manifest.get("version", "?"),
        accuracy=f"{accuracy:.2%}" if isinstance(accuracy, (int, float)) else "?",
        trained=manifest.get("created_at", "?"))
    feedback = await asyncio.to_thread(context.storage.feedback_stats)
    per_digit = ", ".join(f"{d}: {a:.0%}" for d, a in feedback.per_digit_accuracy.items()) or "—"
    message += texts.text(lang, "feedback_stats", confirmed=feedback.confirmed, corrected=feedback.corrected,
                          accuracy=f"{feedback.accuracy:.1%} of {feedback.samples} digits"
                          if feedback.accuracy is not None else "—", per_digit=per_digit)
    await update.effective_message.reply_text(message)
    chart = await asyncio.to_thread(usage_chart, figures.per_day, figures.digits_read, feedback.confusion)
    await update.effective_message.reply_photo(chart, caption="📈")


async def train(update: Update, context: BotContext) -> None:
    """Start retraining in a separate process: /train [epochs] or /train cancel (admins only)."""
    jobs = context.training
    message = update.effective_message
    argument = context.args[0].lower() if context.args else ""
    if argument == "cancel":
        cancelled = await jobs.cancel()
        await message.reply_text("Cancelling the training run…" if cancelled else "No training is running.")
        return
    if jobs.busy:
        await message.reply_text(f"A training run is already going: {jobs.progress}. Use /train cancel to stop it.")
        return
    try:
        epochs = int(argument) if argument else DEFAULT_TRAIN_EPOCHS
    except ValueError:
        epochs = 0
    if not 1 <= epochs <= MAX_TRAIN_EPOCHS:
        await message.reply_text(f"Usage: /train [epochs 1-{MAX_TRAIN_EPOCHS}] or /train cancel")
        return
    if await jobs.start(message.chat_id, epochs) is None:  # another /train got there first
        await message.reply_text(f"A training run is already going: {jobs.progress}. Use /train cancel to stop it.")


async def rollback(update: Update, context: BotContext) -> None:
    """Go back to the model that was in use before the last install (admins only).

    The earlier model is loaded and checked first; only a model that answers is switched to, so a
    damaged one leaves both the running bot and ``CURRENT`` as they were.
    """
    from recognizer import ModelError, Recognizer  # noqa: PLC0415

    models = context.models
    previous = models.store.previous()
    if previous is None:
        await update.effective_message.reply_text("There is no earlier model to roll back to.")
        return
    current = models.store.current() or models.current.version
    try:
        recognizer = await asyncio.to_thread(models.store.switch_to, previous, Recognizer.load)
    except ModelError as error:
        log.warning("rollback to %s refused: %s", previous, error)
        await update.effective_message.reply_text(f"⚠️ Not rolled back: model {previous} cannot be used ({error}). "
                                                  f"Model {current} stays in use.")
        return
    models.use(recognizer)
    log.info("rolled back from %s to %s", current, previous)
    await update.effective_message.reply_text(f"↩️ Rolled back to model {recognizer.version} (MNIST test accuracy "
                                              f"{recognizer.manifest.get('test_accuracy', 0):.2%}). "
                                              f"/rollback again returns to {current}.")
