"""Build the python-telegram-bot Application and run it by long polling (or a webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import admin, feedback, guards, handlers, health, metrics, pictures, texts
from bot.config import Settings
from bot.connectivity import Connectivity, WatchedRequest
from bot.context import CONTEXT_TYPES, BotData
from bot.models import ModelHolder
from bot.rate_limiter import RateLimiter, SharedRateLimiter
from bot.startup import (
    EXIT_CONFIG,
    EXIT_STOPPED,
    EXIT_TELEGRAM,
    StartupError,
    load_models,
    one_thread_per_reading,
    open_storage,
    return_large_buffers_promptly,
)
from bot.storage import Storage
from bot.training_job import TrainingJobs

log = logging.getLogger(__name__)

USER_COMMANDS = ["start", "help"]
ADMIN_COMMANDS = ["stats", "train", "rollback"]
# Updates handled at once. Reading is CPU work in asyncio's worker threads (cores + 4 of them), so more
# handlers in flight do not read faster: they hold more photos in memory and more connections open.
# 16 still covers Telegram's round trips (three per photo, ~0.3 s) at the rate two cores can read.
CONCURRENT_UPDATES = 16
# Connections for sending: each handler makes one request at a time, plus a slow answer's 'typing', the
# training job, the outage reporter and admin notes (a request finding all busy waits for one).
CONNECTION_POOL_SIZE = CONCURRENT_UPDATES + 8
POOL_TIMEOUT_S = 10.0  # a request waits this long for a free connection: a burst waits, it does not lose replies
MENU_LANGUAGES = {"en": None, "zh": "zh"}  # our language -> Telegram's language_code (None: everyone else)
PHOTOS = filters.PHOTO | filters.Document.IMAGE
# What the bot answers: new messages from people. An edited message (a photo whose caption changed) was
# answered when it was sent; a channel post has no one to answer; a member joining or leaving a group, or
# the bot added to one, is no request.
NEW_MESSAGES = filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
RATE_LIMIT_RETRIES = 3


def _interrupted_note(run: dict, model_now: str, lang: str = "en") -> str:
    """What became of a run the bot's stop cut short, told truthfully (an orphan may have installed)."""
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(run["started_at"]))
    before = run.get("model_before")
    if before is None or before == model_now:
        outcome = texts.text(lang, "interrupted_unchanged")
    else:
        outcome = texts.text(lang, "interrupted_changed", now=model_now, before=before)
    return texts.text(lang, "interrupted", started=started, outcome=outcome)


def command_menu(lang: str, admin: bool) -> list[BotCommand]:
    """The command list a user sees in Telegram's menu; admins' lists add /stats, /train and /rollback."""
    names = USER_COMMANDS + (ADMIN_COMMANDS if admin else [])
    return [BotCommand(name, texts.text(lang, f"menu_{name}")) for name in names]


async def publish_menus(application: Application) -> None:
    """Everyone's menu in English and Chinese (by language_code); each admin's own chat gets the admin menu.

    The admin menu is set per chat (BotCommandScopeChat), so strangers never see /train in their menu.
    """
    services: BotData = application.bot_data
    bot = application.bot
    for lang, code in MENU_LANGUAGES.items():
        await bot.set_my_commands(command_menu(lang, admin=False), scope=BotCommandScopeDefault(), language_code=code)
        for admin_id in services.settings.admin_ids:
            await bot.set_my_commands(command_menu(lang, admin=True), scope=BotCommandScopeChat(admin_id),
                                      language_code=code)


async def _report_outages(application: Application) -> None:
    """Tell the admins once per outage, when Telegram can be reached again, how long it was away."""
    services: BotData = application.bot_data
    settings, connectivity = services.settings, services.connectivity
    while True:
        await connectivity.ended.wait()
        connectivity.ended.clear()
        while connectivity.finished:
            outage = connectivity.finished.pop(0)
            for admin_id in settings.admin_ids:
                lang = await asyncio.to_thread(services.storage.admin_language, admin_id)
                try:
                    await application.bot.send_message(admin_id, outage.describe(lang))
                except TelegramError as error:
                    log.warning("could not tell admin %s about the outage: %s", admin_id, error)


async def _publish_menus_quietly(application: Application) -> None:
    try:
        await publish_menus(application)
    except TelegramError as error:  # a Bot API stand-in may not implement it; the bot works without
        log.warning("could not set the command list: %s", error)


async def _heartbeat(application: Application) -> None:
    """Touch DATA_DIR/heartbeat while Telegram answers, for ``python -m bot.health`` (Docker's HEALTHCHECK)."""
    services: BotData = application.bot_data
    while True:
        if not services.connectivity.down:
            try:
                await asyncio.to_thread(health.beat, services.settings.data_dir)
            except OSError as error:
                log.warning("could not write the heartbeat: %s", error)
        await asyncio.sleep(health.HEARTBEAT_EVERY_S)


async def _follow_models(application: Application) -> None:
    """Use the model the models directory names, whoever switched it: /train or /rollback in another replica
    (sharing MODEL_DIR), or an operator. Checked every MODEL_POLL_S seconds; a model that fails to load is
    logged once and the one in use stays."""
    services: BotData = application.bot_data
    models = services.models
    refused: str | None = None
    while True:
        await asyncio.sleep(services.settings.model_poll_s)
        named: str | None = None
        try:
            named = await asyncio.to_thread(models.store.current)
            if named is None or named == models.current.version or named == refused:
                continue
            recognizer = await asyncio.to_thread(models.reload)
            log.info("now using model %s (switched by another process)", recognizer.version)
        except Exception as error:  # a damaged or half-copied model: keep serving the one loaded
            refused = named
            log.warning("MODEL_DIR names model %s, which cannot be used here (%s); keeping %s", named, error,
                        models.current.version)


async def _post_init(application: Application) -> None:
    """Report runs cut short by the last stop, publish the command list, start the outage reporter."""
    services: BotData = application.bot_data
    storage, models = services.storage, services.models
    for run in await asyncio.to_thread(storage.interrupted_runs):
        log.warning("training run %s was interrupted by a restart", run["id"])
        lang = await asyncio.to_thread(storage.admin_language, run["chat_id"])
        try:
            await application.bot.send_message(run["chat_id"], _interrupted_note(run, models.current.version, lang))
        except TelegramError as error:
            log.warning("could not report the interrupted run: %s", error)
    log.info("model %s loaded; database %s", models.current.version, storage.describe())
    # In the background: four setMyCommands calls need not delay the first poll.
    services.menus = asyncio.create_task(_publish_menus_quietly(application))
    services.outage_reporter = asyncio.create_task(_report_outages(application))
    services.heartbeat = asyncio.create_task(_heartbeat(application))
    services.model_follower = asyncio.create_task(_follow_models(application))


async def _post_stop(application: Application) -> None:
    """While the bot can still send: stop a training run (its message says so), stop the reporter."""
    services: BotData = application.bot_data
    await services.training.stop()
    for task in (services.outage_reporter, services.heartbeat, services.menus, services.model_follower):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _post_shutdown(application: Application) -> None:
    services: BotData = application.bot_data
    services.storage.close()
    pictures.shutdown()
    log.info("stopped")


def build_application(settings: Settings, models: ModelHolder, storage: Storage,
                      connectivity: Connectivity) -> Application:
    """The bot with all its handlers, its model and database already open."""
    # One client for sending, one for polling (PTB's split), each sized for the load it has.
    sending = WatchedRequest(connectivity, connection_pool_size=CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT_S)
    polling = WatchedRequest(connectivity, connection_pool_size=1)
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .request(sending)
        .get_updates_request(polling)
        .concurrent_updates(CONCURRENT_UPDATES)
        # Telegram answers bursts with 429 "retry after N s": PTB's limiter retries such a reply after the
        # time asked (up to RATE_LIMIT_RETRIES times) instead of losing it. No overall cap of 30 sends a
        # second: that guideline is for broadcasts, and replies to users who wrote would queue behind it.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=RATE_LIMIT_RETRIES))
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    services: BotData = application.bot_data
    services.settings, services.storage, services.models = settings, storage, models
    services.connectivity = connectivity
    services.http_clients = (sending, polling)
    # One process counts in memory; replicas (PostgreSQL) count in the database they share.
    services.rate_limiter = (RateLimiter(settings.photos_per_minute) if storage.engine == "sqlite"
                             else SharedRateLimiter(storage, settings.photos_per_minute))
    services.training = TrainingJobs(settings, storage, models, application.bot)
    # Guards run first and stop the update when they refuse it.
    application.add_handler(CommandHandler(ADMIN_COMMANDS, guards.admin_guard, filters=NEW_MESSAGES), group=-1)
    application.add_handler(MessageHandler(NEW_MESSAGES & PHOTOS, guards.rate_limit_guard), group=-1)

    application.add_handler(CommandHandler("start", handlers.start, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("stats", admin.stats, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("train", admin.train, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("rollback", admin.rollback, filters=NEW_MESSAGES))
    application.add_handler(MessageHandler(NEW_MESSAGES & filters.PHOTO, handlers.photo))
    application.add_handler(MessageHandler(NEW_MESSAGES & filters.Document.IMAGE, handlers.image_document))
    application.add_handler(MessageHandler(NEW_MESSAGES & filters.Document.ALL, handlers.other_document))
    application.add_handler(MessageHandler(NEW_MESSAGES & filters.TEXT & ~filters.COMMAND, handlers.text_message))
    application.add_handler(MessageHandler(NEW_MESSAGES & filters.COMMAND, handlers.unknown_command))
    application.add_handler(CallbackQueryHandler(handlers.what_i_saw, pattern=f"^{feedback.SAW_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.confirm, pattern=f"^{feedback.RIGHT_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.start_correction, pattern=f"^{feedback.WRONG_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.keypad_press, pattern=f"^{feedback.FIX_PREFIX}"))
    application.add_handler(CallbackQueryHandler(feedback.refuse_forged))  # data no button of ours carries
    application.add_handler(MessageHandler(NEW_MESSAGES, handlers.unsupported))
    application.add_error_handler(handlers.on_error)
    return application


def health_of(storage: Storage, models: ModelHolder) -> metrics.Health:
    """/healthz: can this process reach its database, and which model does it serve?"""
    def check() -> dict[str, object]:
        try:
            storage.ping()
            database = "ok"
        except Exception as error:  # whatever the driver raises: the check says so instead of failing
            database = f"unreachable: {type(error).__name__}"
        model = models.current.version if models.current is not None else None
        return {"ok": database == "ok" and bool(model), "database": database, "engine": storage.engine,
                "model": model}
    return check


def run(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; return the process exit code (see bot.startup)."""
    return_large_buffers_promptly()
    try:
        storage = open_storage(settings)
        models = load_models(settings)
        one_thread_per_reading()  # after the model is loaded: NumPy and OpenCV are in the process by then
    except StartupError as error:
        log.error("%s", error)
        return error.exit_code
    application = build_application(settings, models, storage, Connectivity())
    metrics_server = None
    if settings.metrics_port:
        try:
            metrics_server = metrics.serve(settings.metrics_port, health_of(storage, models))
        except OSError as error:
            log.error("METRICS_PORT %s cannot be used (%s): choose a free port, or unset it.", settings.metrics_port,
                      error.strerror or error)
            storage.close()
            return EXIT_CONFIG
    try:
        if settings.webhook_url:
            application.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port, url_path="telegram",
                                    webhook_url=settings.webhook_url, secret_token=settings.webhook_secret,
                                    allowed_updates=Update.ALL_TYPES, bootstrap_retries=settings.startup_retries,
                                    close_loop=False)
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=settings.startup_retries,
                                    close_loop=False)
    except InvalidToken:
        log.error("Telegram rejected TELEGRAM_BOT_TOKEN. Check the token @BotFather gave you.")
        return EXIT_CONFIG
    except NetworkError as error:
        log.error("Telegram's Bot API at %s could not be reached in %d attempts (STARTUP_RETRIES); last error: "
                  "%s: %s. Check the network and TELEGRAM_API_URL.", settings.api_url, settings.startup_retries + 1,
                  type(error).__name__, error)
        return EXIT_TELEGRAM
    except RuntimeError as error:
        if "webhooks" in str(error):
            log.error("Webhook mode needs the extra packages: pip install -e '.[webhooks]'")
            return EXIT_CONFIG
        # PTB's loop stops mid-start when SIGTERM arrives during start-up: that is still a requested stop.
        if "Event loop stopped before Future completed" not in str(error):
            raise
        log.info("stopped during start-up")
    finally:
        _close_http_clients(application)
        if metrics_server is not None:
            metrics_server.shutdown()
        storage.close()
    return EXIT_STOPPED


def _close_http_clients(application: Application) -> None:
    """Close the HTTP clients and PTB's event loop (left open for this by ``close_loop=False``).

    PTB shuts its request objects down only after a start-up that succeeded; after a failed one their
    open sessions would be reported at exit as "Unclosed client session" errors.
    """
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.gather(*(client.shutdown() for client in application.bot_data.http_clients)))
    finally:
        loop.close()
