"""The running bot's services, reached one typed way: PTB's ``ContextTypes`` with a custom context.

``BotData`` is PTB's ``bot_data`` (one object per application, made by PTB with no arguments and
filled in by ``bot.app.build_application``); handlers take a ``BotContext`` and read
``context.storage``, ``context.models`` and so on, never string keys.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot import texts
from bot.config import Settings
from bot.connectivity import Connectivity
from bot.http_client import AiohttpRequest
from bot.models import ModelHolder
from bot.rate_limiter import PhotoLimit
from bot.storage import Storage
from bot.training_job import TrainingJobs


class BotData:
    """The bot's services. Each is set once, before the application starts, by ``build_application``."""

    settings: Settings
    storage: Storage
    models: ModelHolder
    connectivity: Connectivity
    rate_limiter: PhotoLimit
    training: TrainingJobs
    http_clients: tuple[AiohttpRequest, ...] = ()  # closed by bot.app.run even when start-up failed
    outage_reporter: asyncio.Task[None] | None = None  # started after start-up, stopped at shutdown
    heartbeat: asyncio.Task[None] | None = None  # likewise: touches DATA_DIR/heartbeat for bot.health
    menus: asyncio.Task[None] | None = None  # publishes the command menus once, after start-up
    model_follower: asyncio.Task[None] | None = None  # switches to the model MODEL_DIR names (other replicas)


class BotContext(CallbackContext[ExtBot[None], dict, dict, BotData]):
    """PTB's context, with the bot's services as typed attributes."""

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def storage(self) -> Storage:
        return self.bot_data.storage

    @property
    def models(self) -> ModelHolder:
        return self.bot_data.models

    @property
    def training(self) -> TrainingJobs:
        return self.bot_data.training

    @property
    def rate_limiter(self) -> PhotoLimit:
        return self.bot_data.rate_limiter


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)


def language(update: Update) -> str:
    user = update.effective_user
    return texts.language_of(user.language_code if user else None)
