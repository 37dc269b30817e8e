"""Shared objects of the running bot, as handlers reach them through the PTB context."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import texts
from bot.config import Settings
from bot.models import ModelHolder
from bot.storage import Storage


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.application.bot_data["settings"]


def storage_of(context: ContextTypes.DEFAULT_TYPE) -> Storage:
    return context.application.bot_data["storage"]


def models_of(context: ContextTypes.DEFAULT_TYPE) -> ModelHolder:
    return context.application.bot_data["models"]


def language(update: Update) -> str:
    user = update.effective_user
    return texts.language_of(user.language_code if user else None)
