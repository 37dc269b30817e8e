"""Build the python-telegram-bot Application and run it by long polling (or a webhook)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time

from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import admin, feedback, guards, handlers
from bot.config import Settings
from bot.models import ModelHolder
from bot.storage import Storage
from bot.training_job import TrainingJobs
from recognizer import Recognizer

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ["stats", "train", "rollback"]
PHOTOS = filters.PHOTO | filters.Document.IMAGE


def _salt(settings: Settings) -> str:
    """A per-installation secret for hashing user ids, kept next to the database."""
    path = settings.data_dir / "user-hash-salt"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(16), encoding="utf-8")
        os.chmod(path, 0o600)
    return path.read_text(encoding="utf-8").strip()


async def _post_init(application: Application) -> None:
    """Open the database and load the model before the first update; publish the command list."""
    settings: Settings = application.bot_data["settings"]
    if "models" not in application.bot_data:
        recognizer = await asyncio.to_thread(Recognizer.load, settings.model_dir)
        application.bot_data["models"] = ModelHolder(recognizer, settings.model_dir)
    storage = await asyncio.to_thread(Storage, settings.database_path, _salt(settings))
    application.bot_data["storage"] = storage
    application.bot_data["training"] = TrainingJobs(settings, storage, application.bot_data["models"],
                                                    application.bot)
    for run in await asyncio.to_thread(storage.interrupted_runs):
        note = (f"⚠️ The training run started {time.strftime('%Y-%m-%d %H:%M', time.gmtime(run['started_at']))} UTC "
                "was interrupted when the bot stopped. The model in use is unchanged; send /train to start again.")
        log.warning("training run %s was interrupted by a restart", run["id"])
        try:
            await application.bot.send_message(run["chat_id"], note)
        except TelegramError as error:
            log.warning("could not report the interrupted run: %s", error)
    log.info("model %s loaded; database %s", application.bot_data["models"].current.version, settings.database_path)
    try:
        await application.bot.set_my_commands([BotCommand("start", "How to use the bot"),
                                               BotCommand("help", "How to take a good photo")])
    except TelegramError as error:  # a Bot API stand-in may not implement it; the bot works without
        log.warning("could not set the command list: %s", error)


async def _post_shutdown(application: Application) -> None:
    jobs: TrainingJobs | None = application.bot_data.get("training")
    if jobs is not None:
        await jobs.stop()
    storage: Storage | None = application.bot_data.get("storage")
    if storage is not None:
        storage.close()
    log.info("stopped")


def build_application(settings: Settings, models: ModelHolder | None = None) -> Application:
    """The bot with all its handlers; ``models`` may be given to share an already loaded model."""
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings
    application.bot_data["rate_limiter"] = guards.RateLimiter(settings.photos_per_minute)
    if models is not None:
        application.bot_data["models"] = models

    # Guards run first and stop the update when they refuse it.
    application.add_handler(CommandHandler(ADMIN_COMMANDS, guards.admin_guard), group=-1)
    application.add_handler(MessageHandler(PHOTOS, guards.rate_limit_guard), group=-1)

    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handler(CommandHandler("stats", admin.stats))
    application.add_handler(CommandHandler("train", admin.train))
    application.add_handler(CommandHandler("rollback", admin.rollback))
    application.add_handler(MessageHandler(filters.PHOTO, handlers.photo))
    application.add_handler(MessageHandler(filters.Document.IMAGE, handlers.image_document))
    application.add_handler(MessageHandler(filters.Document.ALL, handlers.other_document))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text_message))
    application.add_handler(CallbackQueryHandler(handlers.what_i_saw, pattern=f"^{feedback.SAW_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.confirm, pattern=f"^{feedback.RIGHT_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.start_correction, pattern=f"^{feedback.WRONG_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.keypad_press, pattern=f"^{feedback.FIX_PREFIX}"))
    application.add_handler(MessageHandler(filters.ALL, handlers.unsupported))
    application.add_error_handler(handlers.on_error)
    return application


def run(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; return the process exit code."""
    application = build_application(settings)
    try:
        if settings.webhook_url:
            application.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port, url_path="telegram",
                                    webhook_url=settings.webhook_url, secret_token=settings.webhook_secret,
                                    allowed_updates=Update.ALL_TYPES)
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        log.error("Telegram rejected TELEGRAM_BOT_TOKEN. Check the token @BotFather gave you.")
        return 2
    except RuntimeError as error:
        if "webhooks" in str(error):
            log.error("Webhook mode needs the extra packages: pip install -e '.[webhooks]'")
            return 2
        # PTB's loop stops mid-start when SIGTERM arrives during start-up: that is still a requested stop.
        if "Event loop stopped before Future completed" not in str(error):
            raise
        log.info("stopped during start-up")
    return 0
