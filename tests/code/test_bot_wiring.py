"""The bot's services are reached one typed way: PTB's ContextTypes with the bot's own context."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from telegram.ext import BaseHandler

from bot import handlers
from bot.app import build_application
from bot.config import load_settings
from bot.connectivity import Connectivity
from bot.context import BotContext, BotData
from bot.models import ModelHolder
from bot.rate_limiter import RateLimiter
from bot.storage import Storage
from bot.training_job import TrainingJobs
from recognizer import Recognizer
from recognizer.model_store import ModelStore


@pytest.fixture
def application(tmp_path):
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123:abc", "PHOTOS_PER_MINUTE": "7",
                              "DATA_DIR": str(tmp_path)}, env_file=None)
    store = ModelStore()
    storage = Storage(settings.database_path, salt="test")
    yield build_application(settings, ModelHolder(Recognizer.load(store.path), store), storage, Connectivity())
    storage.close()


def test_every_service_is_a_typed_attribute(application):
    services = application.bot_data
    assert isinstance(services, BotData) and application.context_types.context is BotContext
    assert isinstance(services.storage, Storage) and isinstance(services.training, TrainingJobs)
    assert isinstance(services.rate_limiter, RateLimiter) and services.rate_limiter.limit == 7
    assert services.models.current.version == ModelStore().current()
    context = BotContext(application)
    assert context.storage is services.storage and context.training is services.training
    assert context.settings.photos_per_minute == 7 and context.models is services.models


def test_every_handler_takes_the_bot_context(application):
    callbacks = [h.callback for group in application.handlers.values() for h in group if isinstance(h, BaseHandler)]
    callbacks += application.error_handlers
    assert len(callbacks) > 10
    for callback in callbacks:
        annotation = inspect.signature(callback).parameters["context"].annotation
        assert annotation in ("BotContext", BotContext), callback.__qualname__


def test_no_module_of_the_bot_reaches_services_by_string_key():
    for path in Path(handlers.__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "bot_data[" not in source and "bot_data.get(" not in source, path.name
