"""Guards that run before the real handlers (group -1) and stop updates they refuse."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import BotContext, language

log = logging.getLogger(__name__)


async def admin_guard(update: Update, context: BotContext) -> None:
    """Refuse admin commands to everyone who is not in ADMIN_IDS."""
    user = update.effective_user
    if user is None or user.id not in context.settings.admin_ids:
        log.warning("refused admin command %r from user %s", update.effective_message.text,
                    user.id if user else None)
        await update.effective_message.reply_text(texts.text(language(update), "admin_only"))
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:  # /stats in a group would show everyone the figures
        log.info("admin command %r from user %s in a %s chat: asked to use a private chat",
                 update.effective_message.text, user.id, chat.type)
        await update.effective_message.reply_text(texts.text(language(update), "admin_private_only"))
        raise ApplicationHandlerStop
    # Notes sent later without an update (an interrupted run, an outage) go out in this admin's language.
    await asyncio.to_thread(context.storage.set_admin_language, user.id, language(update))


async def rate_limit_guard(update: Update, context: BotContext) -> None:
    """Ask users who send photos too fast to slow down."""
    user = update.effective_user
    limiter = context.rate_limiter
    if user is not None and not await limiter.admit(user.id):
        log.info("rate limit hit by user %s", user.id)
        await update.effective_message.reply_text(texts.text(language(update), "rate_limited"))
        raise ApplicationHandlerStop
